"""Route handlers of the volunteers domain, registered by the app factory: the JSON API
(:mod:`participation.volunteers.api`) and the pages (:mod:`participation.volunteers.pages`)."""

from typing import Any

from participation.volunteers import api, pages

route_handlers: list[Any] = [*api.route_handlers, *pages.route_handlers]
