"""The case store: SQLAlchemy models, database plumbing, numbering, throttling."""
