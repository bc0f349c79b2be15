"""Route handlers of the reports domain, registered by the app factory."""

from typing import Any

route_handlers: list[Any] = []
