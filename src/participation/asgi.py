"""ASGI entry point for servers: ``uvicorn participation.asgi:app``."""

import gc

from participation.app import create_app

app = create_app()

# The objects made at start-up (modules, the app, routes, templates' machinery) live as long as
# the process: moved out of the collector's reach, a full collection no longer walks them all
# (it took ~190 ms, stalling every request of the worker, instead of ~4 ms).
gc.collect()
gc.freeze()
