"""Tables of the reports domain."""
