"""ASGI factory for the benchmark server, used only while ``seatflow.asgi`` does not exist yet.

``uvicorn --factory _asgi:app_from_env --app-dir bench`` builds the app from the SEATFLOW_*
environment, exactly as ``seatflow.asgi:app_from_env`` does once it is there (the bench prefers it).
"""

from __future__ import annotations

from fastapi import FastAPI


def app_from_env() -> FastAPI:
    from seatflow.app import create_app

    return create_app()
