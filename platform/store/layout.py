"""Names in an embedded store's data folder that the store and its maintenance share.

Kept apart so that :mod:`.tinydb_store` (which opens a folder) and
:mod:`.maintenance` (which upgrades and verifies one) import it and not each other.
"""
from __future__ import annotations

import hashlib

__all__ = ["CHECKPOINT_MARKER", "FORMAT_TEXT", "SEALED_JOURNAL", "V1_MARKERS", "name_digest"]

FORMAT_TEXT = "eservice-store 2\n"  # the FORMAT file of a version-2 folder
CHECKPOINT_MARKER = "CHECKPOINTING"  # present while a fold may have left temp files
SEALED_JOURNAL = "journal.sealed.log"  # the previous journal generation, until it is folded in
V1_MARKERS = ("applications", "open", "archive", "applicants", "sequences.json", "collections")


def name_digest(text: str) -> str:
    """SHA-256 of an id, for the file names and shards derived from it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
