"""Haven's application package (Chalice copies `chalicelib/` into every Lambda)."""
