"""Route handlers of the reports domain, registered by the app factory: the pages
(:mod:`.pages`), the JSON API (:mod:`.api`) and Open311 GeoReport v2 (:mod:`.open311`)."""

from typing import Any

from participation.reports import api, open311, pages

route_handlers: list[Any] = [*pages.route_handlers, *api.route_handlers, *open311.route_handlers]
