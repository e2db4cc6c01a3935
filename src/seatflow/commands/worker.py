"""`worker deliver`, `worker media`: background jobs as processes of their own (PostgreSQL at scale)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from seatflow.i18n.cli import _

from ._common import database, new_app, safe_url, settings

worker_app = new_app(_("Background jobs as processes of their own (for PostgreSQL at scale)."))


@worker_app.command("deliver", help=_("Send due webhook events until stopped (Ctrl+C or SIGTERM); "
                                      "run several on PostgreSQL, they never take the same event."))
def deliver(
    once: Annotated[bool, typer.Option("--once", help=_("Send what is due now, then exit."))] = False,
    concurrency: Annotated[int | None, typer.Option(min=1, max=256, help=_(
        "Requests in flight at once (default: SEATFLOW_DELIVERY_CONCURRENCY)."))] = None,
) -> None:
    from seatflow.jobs.delivery import Deliverer

    conf = settings()
    if concurrency is not None:
        conf = conf.model_copy(update={"delivery_concurrency": concurrency})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with database(conf) as db:
        if not db.is_postgres and not once:
            typer.echo(_("note: on SQLite the app delivers webhooks itself; run this only with "
                         "SEATFLOW_DELIVERY_IN_PROCESS=false"), err=True)
        deliverer = Deliverer(db, conf)
        try:
            if once:
                tried = deliverer.drain(timeout=max(60.0, conf.webhook_timeout_seconds * 3))
                typer.echo(_("{tried} attempt(s): {delivered} delivered, {failed} failed").format(
                    tried=tried, delivered=deliverer.delivered, failed=deliverer.failed))
                return
            stop = threading.Event()

            def _on_signal(_signum: int, _frame: FrameType | None) -> None:
                stop.set()

            previous = signal.signal(signal.SIGTERM, _on_signal)
            deliverer.start()
            typer.echo(_("delivering webhooks from {url} ({n} at a time); Ctrl+C stops").format(
                url=safe_url(conf.resolved_database_url()), n=conf.delivery_concurrency))
            try:
                while not stop.wait(1.0):  # the deliverer polls on its own; this only waits for a stop
                    pass
            except KeyboardInterrupt:
                pass
            finally:
                signal.signal(signal.SIGTERM, previous)
            deliverer.stop(timeout=conf.webhook_timeout_seconds + 5)  # requests in flight finish first
            typer.echo(_("stopped: {delivered} delivered, {failed} failed attempt(s)").format(
                delivered=deliverer.delivered, failed=deliverer.failed))
        finally:
            deliverer.close()



@worker_app.command("media", help=_("Process ingested moderation media (thumbnails, keyframes, pre-screen) "
                                    "until stopped; run several on PostgreSQL, they never take the same item."))
def media(
    once: Annotated[bool, typer.Option("--once", help=_("Process what waits now, then exit."))] = False,
) -> None:
    from seatflow.jobs.media import MediaJob

    conf = settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with database(conf) as db:
        job = MediaJob(db, conf)
        if once:
            done = job.run_once()
            typer.echo(_("{n} item(s) processed: {ready} ready, {failed} refused").format(
                n=len(done), ready=sum(o.status == "ready" for o in done),
                failed=sum(o.status == "failed" for o in done)))
            return
        if not db.is_postgres:
            typer.echo(_("note: the app processes media itself; run this only with "
                         "SEATFLOW_MEDIA_JOBS_IN_PROCESS=false"), err=True)
        stop = threading.Event()

        def _on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, _on_signal)
        job.start()
        typer.echo(_("processing media from {url}; Ctrl+C stops").format(url=safe_url(conf.resolved_database_url())))
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            job.stop()
