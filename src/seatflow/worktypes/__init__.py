"""Work types are plugins: each module registers one :class:`~seatflow.worktypes.base.WorkType`."""

# Importing the built-ins registers them.
from . import image, moderation, text, ticket  # noqa: F401  (registration side effect)
from .base import REGISTRY, WorkType, get_work_type, register

__all__ = ["REGISTRY", "WorkType", "get_work_type", "register"]
