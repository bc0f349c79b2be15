"""The fieldwork domain."""
