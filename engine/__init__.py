"""Centro 311 engine: the workflow runtime and the case store (no web imports)."""
