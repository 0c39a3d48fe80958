"""HTTP entry points: one Blueprint per area; routes parse, call one service, return."""
