"""The media job's work: read an item's media, score it, and put the item to work (or refuse it).

One pass (:func:`process_pending`) claims a few items whose media waits, in a short transaction,
then reads each one outside any transaction (decoding a video takes a while; no lock is held),
then writes the outcome in a transaction of its own:

- readable: the payload gets the thumbnails (and a video's duration and keyframe strip) and the
  pre-screen score, and the item gets its task — only now does it enter the queue;
- unreadable: the item is ``rejected_media`` with the reason, gets no task, and the client is told
  (``moderation.media_error`` through the outbox).

A claim older than ``stale_after`` (a job that died mid-way) is taken again by the next pass. The
same function runs in the app's thread and in ``python -m seatflow.jobs.media``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from seatflow.domain.clock import utcnow
from seatflow.i18n.message import Msg
from seatflow.moderation.prescreen import Score, Scorer
from seatflow.moderation.probe import MediaUnreadable, Probed, probe
from seatflow.store import catalog
from seatflow.store import moderation as repo
from seatflow.store.engine import Database

from .moderation_flow import media_error, open_item

log = logging.getLogger("seatflow.media")
STALE_AFTER = timedelta(minutes=10)


@dataclass
class MediaOutcome:
    item_id: int
    status: str  # ready | failed | skipped (another job took the item over)
    detail: str = ""


def claim(db: Database, *, limit: int, now: datetime | None = None) -> list[Any]:
    now = now or utcnow()
    with db.write() as conn:
        return repo.claim_media(conn, now=now, stale_before=now - STALE_AFTER, limit=limit)


def _read(item: Any, *, media_root: Path, keyframes: int, scorer: Scorer) -> tuple[Probed, Score]:
    payload = item.payload or {}
    ref = str(payload.get("media") or "")
    path = media_root / ref
    if not ref or not path.is_file():
        raise MediaUnreadable(Msg("the media file {ref!r} is missing from the media store", ref=ref))
    probed = probe(path, payload.get("kind", "image"), media_root=media_root,
                   out_prefix=f"{Path(ref).parent.as_posix()}/derived/{item.id}", keyframes=keyframes)
    return probed, scorer.score(probed.frames)


def process_item(db: Database, item: Any, *, media_root: Path, keyframes: int, scorer: Scorer) -> MediaOutcome:
    claimed_at = item.media_claimed_at
    try:
        probed, score = _read(item, media_root=media_root, keyframes=keyframes, scorer=scorer)
    except MediaUnreadable as exc:
        return _fail(db, item, claimed_at, exc.reason)
    except Exception as exc:  # noqa: BLE001 - an unexpected failure must not leave the item waiting forever
        log.exception("media of item %s could not be processed", item.id)
        return _fail(db, item, claimed_at, Msg("the media could not be processed ({error})",
                                               error=exc.__class__.__name__))
    now = utcnow()
    payload = dict(item.payload or {})
    payload.update(thumbnails=probed.thumbnails)
    if probed.strip:
        payload["strip"] = probed.strip
    if probed.duration_seconds is not None:
        payload["duration_seconds"] = round(probed.duration_seconds, 3)
    if score.value is not None:
        payload.update(prescreen_score=score.value, prescreen_labels=score.labels)
    with db.write() as conn:
        if not repo.finish_media(conn, item_id=item.id, claimed_at=claimed_at, media_status="ready",
                                 payload=payload, prescreen_score=score.value, media_error=None):
            return MediaOutcome(item.id, "skipped", "another job took this item over")
        project = catalog.project_by_id(conn, item.project_id)
        fresh = repo.item_by_id(conn, item.id)
        what = open_item(conn, item=fresh, project=project, score=score.value, labels=score.labels, now=now)
    return MediaOutcome(item.id, "ready", what)


def _fail(db: Database, item: Any, claimed_at: datetime, reason: str) -> MediaOutcome:
    now = utcnow()
    with db.write() as conn:
        if not repo.finish_media(conn, item_id=item.id, claimed_at=claimed_at, media_status="failed"):
            return MediaOutcome(item.id, "skipped", "another job took this item over")
        project = catalog.project_by_id(conn, item.project_id)
        media_error(conn, item=item, project=project, reason=reason, now=now)
    return MediaOutcome(item.id, "failed", reason)


def process_pending(db: Database, *, media_root: Path, keyframes: int, scorer: Scorer,
                    limit: int = 4) -> list[MediaOutcome]:
    """One pass of the media job; returns what happened to each item it took."""
    return [process_item(db, item, media_root=media_root, keyframes=keyframes, scorer=scorer)
            for item in claim(db, limit=limit)]
