"""Tables of the dashboards domain."""
