"""Bundles: reading folders, zips and uploads; validating and parsing them; forms.

Also what changed between two versions (:mod:`engine.bundles.changes`).

``read_zip`` and ``read_files`` (uploads) are re-exported here because callers
read a bundle before anything else.
"""

from engine.bundles.uploads import read_files, read_zip

__all__ = ["read_files", "read_zip"]
