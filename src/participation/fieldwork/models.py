"""Tables of the fieldwork domain."""
