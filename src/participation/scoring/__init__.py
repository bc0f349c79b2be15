"""The scoring domain."""
