"""The media job: thumbnails, keyframes and the pre-screen of ingested media, in the background.

On one node it is a thread of the app (``SEATFLOW_MEDIA_JOBS_IN_PROCESS``, on by default), woken
at once by each ingest and otherwise polling every ``SEATFLOW_MEDIA_JOB_INTERVAL_SECONDS``. At
scale it runs as workers of its own, any number of them against one PostgreSQL (items are claimed
with ``FOR UPDATE SKIP LOCKED``)::

    seatflow worker media                    # run until stopped (or: python -m seatflow.jobs.media)
    seatflow worker media --once             # one pass over what is waiting, then exit
"""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

from seatflow.config import Settings, load_settings
from seatflow.moderation.prescreen import Scorer, scorer_for
from seatflow.services.moderation_media import MediaOutcome, process_pending
from seatflow.store.engine import Database

log = logging.getLogger("seatflow.media")
BATCH = 4


class MediaJob:
    def __init__(self, db: Database, settings: Settings, *, scorer: Scorer | None = None) -> None:
        self.db = db
        self.media_root = Path(settings.resolved_media_dir())
        self.keyframes = settings.video_keyframes
        self.interval = settings.media_job_interval_seconds
        self.scorer = scorer or scorer_for(settings.prescreen_model)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[MediaOutcome]:
        """Process everything that waits now (one caller at a time per process)."""
        done: list[MediaOutcome] = []
        with self._lock:
            while not self._stop.is_set():
                batch = process_pending(self.db, media_root=self.media_root, keyframes=self.keyframes,
                                        scorer=self.scorer, limit=BATCH)
                done += batch
                if len(batch) < BATCH:
                    break
        for outcome in done:
            log.info("media of item %s: %s %s", outcome.item_id, outcome.status, outcome.detail)
        return done

    def wake(self) -> None:
        """An item was ingested: look now rather than at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the next pass tries again; never kill the thread
                log.exception("media job pass failed")

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="seatflow-media", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seatflow.jobs.media", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="one pass over what is waiting, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from seatflow.app import build_database

    settings = load_settings()
    db = build_database(settings)
    job = MediaJob(db, settings)
    try:
        if args.once:
            outcomes = job.run_once()
            print(f"{len(outcomes)} item(s) processed")
            return 0
        job.start()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        job.stop()
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
