"""Route handlers of the fieldwork domain, registered by the app factory."""

from typing import Any

route_handlers: list[Any] = []
