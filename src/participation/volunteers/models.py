"""Tables of the volunteers domain."""
