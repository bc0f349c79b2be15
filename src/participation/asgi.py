"""ASGI entry point for servers: ``uvicorn participation.asgi:app``."""

from participation.app import create_app

app = create_app()
