"""An app factory for ASGI servers: `uvicorn --factory seatflow.asgi:app_from_env`.

`seatflow serve --workers N` uses it, so every worker process builds its own app (and database
pool) from the environment (SEATFLOW_* variables).
"""

from __future__ import annotations

from fastapi import FastAPI

from seatflow.app import create_app
from seatflow.config import load_settings


def app_from_env() -> FastAPI:
    return create_app(load_settings())
