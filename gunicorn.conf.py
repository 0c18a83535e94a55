"""gunicorn's settings for Centro 311, read from the folder gunicorn starts in.

The README's ``gunicorn -w 4 -b … 'webapp:create_app()'``, run from the
clone's root, reads this file by itself. Its one hook checks the production
secrets in the master, before any worker is forked: without ``SECRET_KEY`` or
``IDENTITY_KEY`` gunicorn ends with the one line the ``flask`` commands print
(``Error: Falta SECRET_KEY: …``) and status 4, and no worker starts.

Without this file (gunicorn started elsewhere, or with another ``-c``), each
worker's app factory refuses the same way; with several workers, though,
gunicorn may then print a traceback of its own while it stops the others.
"""

from __future__ import annotations

from typing import Any


def on_starting(server: Any) -> None:
    """Refuse, in the master and in one line, to serve without the secrets."""
    from webapp import refuse_to_serve

    refuse_to_serve()
