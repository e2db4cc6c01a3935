"""Time in one place, always timezone-aware UTC.

Instants are stored and compared in UTC. Calendar days and months (billing statements, daily
reports, a person's "done today") are those of the center's time zone, the setting ``timezone``
(``SEATFLOW_TIMEZONE``, default UTC): the helpers below turn a local day or month into the UTC
instants [start, end) that bound it. Both ends are computed from local midnights, so a day on which
the clocks change has 23 or 25 hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seatflow.i18n.message import Msg


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The time zone of an IANA name (``Asia/Shanghai``); 'UTC' is ``datetime.UTC``.

    Raises ValueError naming the bad value when there is no such zone.
    """
    key = (name or "").strip()
    if key.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(Msg("{name!r} is not an IANA time zone name such as Asia/Shanghai, Europe/Berlin or UTC",
                             name=name)) from None


def center_zone(settings: Any = None) -> tzinfo:
    """The center's time zone: ``settings.timezone`` (UTC without settings or without the setting)."""
    return zone(str(getattr(settings, "timezone", None) or "UTC"))


def zone_name(tz: tzinfo) -> str:
    """The IANA name of a zone ('Asia/Shanghai'), 'UTC' for UTC."""
    return str(getattr(tz, "key", None) or tz)


def local_midnight(day: date, tz: tzinfo = UTC) -> datetime:
    """The UTC instant at which ``day`` begins in ``tz``.

    Where the clocks jump forward at midnight (the local 00:00 does not exist), it is the first instant
    of the day (zoneinfo reads the missing 00:00 with the offset before the jump).
    """
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """[start, end) of the local ``day`` in ``tz`` as aware UTC instants (23, 24 or 25 hours apart)."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def month_bounds(year: int, month: int, tz: tzinfo = UTC) -> tuple[datetime, datetime]:
    """[start, end) of the local calendar month in ``tz`` as aware UTC instants."""
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return local_midnight(date(year, month, 1), tz), local_midnight(following, tz)


def local_today(now: datetime | None = None, tz: tzinfo = UTC) -> date:
    """The calendar day in ``tz`` at the instant ``now`` (the current instant by default)."""
    return (now or utcnow()).astimezone(tz).date()
