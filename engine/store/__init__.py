"""The case store: SQLAlchemy models, database plumbing, numbering, throttling.

The tables are declared in three modules on one ``Base``: ``models`` (cases,
their processes, tasks, events and files), ``accounts`` (people and their
access) and ``publishing`` (what goes out or is published: mail, links, open data,
the knowledge base). Importing the package imports
all three, so ``Base.metadata`` always holds every table (migrations,
schema checks) and every foreign key resolves.
"""

from engine.store import accounts, models, publishing  # noqa: F401
