"""An app factory for ASGI servers: `uvicorn --factory seatflow.asgi:app_from_env`.

`seatflow serve --workers N` uses it, so every worker process builds its own app (and database
pool) from the environment (SEATFLOW_* variables).
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from seatflow.app import create_app
from seatflow.config import load_settings


def app_from_env() -> FastAPI:
    app = create_app(load_settings())
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Leave what start-up built out of the garbage collector's full collections.

    A server process holds ~150,000 objects after start-up (modules, the app, its routes and models), and
    a full collection walks all of them: 80-140 ms, measured in the dispatch bench's server, during
    which that process answers nothing; with requests arriving every few milliseconds, one such pause is
    the p99 of lease latency. Those objects live as long as the process, so they are moved to the
    permanent generation (``gc.freeze``) once, after a collection of start-up's garbage; later collections
    walk only what requests create. Only for a server process (this factory), not for apps built in tests.
    """
    gc.collect()
    gc.freeze()
