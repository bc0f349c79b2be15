"""participation: citizen-satisfaction surveys and public participation for city management."""

__version__ = "0.1.0"
