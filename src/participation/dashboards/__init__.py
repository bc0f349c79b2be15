"""The dashboards domain."""
