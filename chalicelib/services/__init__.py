"""Use cases, one module per area. They take the caller, the validated input and `now`."""
