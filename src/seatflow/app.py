"""The application object: the server, the CLI's in-process requests and the tests all build this."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from seatflow import __version__
from seatflow.config import Settings, load_settings
from seatflow.store.engine import Database, make_engine
from seatflow.store.migrate import upgrade

from .api import acceptance as acceptance_api
from .api import catalog, deliveries, items, problems, work
from .api import exports as exports_api
from .api import floor as floor_api
from .api import moderation as moderation_api
from .api import quality as quality_api
from .api.deps import TokenCache
from .api.hot_path import HotPath
from .billing import routes as billing_routes
from .dashboards import routes as dashboard_routes
from .jobs.delivery import Deliverer, Notifier
from .jobs.media import MediaJob
from .jobs.reaper import Reaper
from .media import media_store
from .services.export_jobs import ExportJobs
from .web import apidocs
from .web import deliveries as web_deliveries
from .web import exports as web_exports
from .web import floor as web_floor
from .web import moderation as web_moderation
from .web import quality_report as web_quality_report
from .web import routes as web_routes
from .web import workspace as web_workspace


def build_database(settings: Settings, *, migrate: bool = True) -> Database:
    db = Database(make_engine(settings.resolved_database_url(), pool_size=settings.db_pool_size))
    if migrate:
        upgrade(db.engine)
    return db


def create_app(settings: Settings | None = None, *, db: Database | None = None, background: bool = True) -> FastAPI:
    """Build the app. ``background`` starts the lease reaper and the webhook deliverer threads (off
    for in-process CLI calls)."""
    settings = settings or load_settings()
    database = db or build_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.reaper.run_once()  # leases that expired while the server was down go back now
        if background:
            app.state.reaper.start()
            if settings.delivery_in_process:
                app.state.deliverer = Deliverer(database, settings)
                app.state.deliverer.start()
            elif database.is_postgres:  # `seatflow worker deliver` processes deliver: wake them
                app.state.notifier = Notifier(database)
                app.state.notifier.start()
            if settings.media_jobs_in_process:
                app.state.media_job.start()  # also takes media left waiting when the server stopped
        try:
            yield
        finally:
            app.state.reaper.stop()
            app.state.media_job.stop()
            if app.state.deliverer is not None:
                app.state.deliverer.close()
                app.state.deliverer = None
            if app.state.notifier is not None:
                app.state.notifier.stop()
                app.state.notifier = None

    app = FastAPI(
        title="Seatflow",
        version=__version__,
        description="The delivery platform of a service-outsourcing center. "
        "Authenticate with `Authorization: Bearer <token>` (create one with `seatflow token create`) "
        "or a session from /login. Errors are application/problem+json.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.secret = settings.resolved_secret_key()
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.reaper = Reaper(database, settings.reap_interval_seconds)
    app.state.deliverer = None  # the webhook deliverer, started with the app (see lifespan)
    app.state.notifier = None  # or, on PostgreSQL with separate deliverers, what wakes them
    app.state.media_root = Path(settings.resolved_media_dir())
    app.state.media = media_store(settings)  # local folder or S3: short-lived links for the browser
    app.state.export_jobs = ExportJobs(database, settings.resolved_home() / "exports", app.state.media)
    app.state.media_job = MediaJob(database, settings)  # thumbnails, keyframes, pre-screen (see lifespan)
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret, session_cookie="seatflow_session",
                       same_site="lax", https_only=False, max_age=12 * 3600)
    app.state.hot_path_requests = 0
    app.add_middleware(HotPath)  # outermost of ours: hot work requests of cached tokens skip the rest
    problems.install(app)
    app.include_router(work.router)
    app.include_router(catalog.router)
    app.include_router(items.router)
    app.include_router(exports_api.router)
    app.include_router(deliveries.router)
    app.include_router(moderation_api.router)
    app.include_router(quality_api.router)
    app.include_router(acceptance_api.router)
    app.include_router(floor_api.router)
    app.include_router(web_routes.router)
    app.include_router(web_exports.router)
    app.include_router(web_deliveries.router)
    app.include_router(web_moderation.router)
    app.include_router(web_workspace.router)
    app.include_router(web_quality_report.router)
    app.include_router(web_floor.router)
    app.include_router(billing_routes.router)
    app.include_router(billing_routes.pages)
    app.include_router(dashboard_routes.router)
    app.include_router(dashboard_routes.pages)
    apidocs.install(app)  # before /static, so /static/swagger-ui is matched first
    app.mount("/static", web_routes.static_app(), name="static")
    return app
