"""Names of roles and work types as people read them (translated where shown).

The ``N_`` markers put the English names into the catalogs; a work type's English title lives in
its plugin (``WorkType.title``), and tests/unit/test_i18n.py checks every registered title is
translated, so a fifth work type can't arrive untranslated.
"""

from __future__ import annotations

from collections.abc import Callable

from seatflow.worktypes import REGISTRY


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


ROLE_NAMES = {
    "admin": N_("Administrator"),
    "manager": N_("Operations manager"),
    "lead": N_("Team lead"),
    "worker": N_("Worker"),
    "client": N_("Client"),
}

# The built-in work types' titles, as their plugins declare them (for extraction).
WORK_TYPE_TITLES = (
    N_("Image annotation"),
    N_("Text annotation"),
    N_("Moderation decision"),
    N_("Service ticket"),
)


def role_label(role: object, _: Callable[[str], str]) -> str:
    value = getattr(role, "value", role)
    return _(ROLE_NAMES.get(str(value), str(value)))


def work_type_label(name: str, _: Callable[[str], str]) -> str:
    wt = REGISTRY.get(name)
    return _(wt.title) if wt is not None else name
