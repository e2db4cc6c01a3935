"""Who is asking: roles, the acting user, and the tenant rules every service applies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from seatflow.errors import Forbidden, NotFound
from seatflow.i18n.message import Msg


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    LEAD = "lead"
    WORKER = "worker"
    CLIENT = "client"


STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.LEAD})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    role: Role
    client_id: int | None = None
    team_id: int | None = None
    locale: str = "zh_CN"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(Msg("this action needs the role {allowed}; you are {role}", allowed=allowed,
                                role=self.role.value))

    def require_manager(self) -> None:
        self.require(Role.ADMIN, Role.MANAGER)

    def check_client(self, client_id: int, *, what: Literal["project", "item"] = "project") -> None:
        """A client user sees only its own client's data; answer 404 so nothing leaks."""
        if self.role is Role.CLIENT and self.client_id != client_id:
            raise NotFound(Msg("item not found") if what == "item" else Msg("project not found"))

    def can_see_client(self, client_id: int) -> bool:
        return self.role is not Role.CLIENT or self.client_id == client_id
