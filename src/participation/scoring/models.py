"""Tables of the scoring domain."""
