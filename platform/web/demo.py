"""Demo data for ``eservice serve --demo`` (not for production).

``seed_demo()`` is called by the CLI before the server starts, with
``ESERVICE_DATA`` and ``ESERVICE_DEFINITIONS`` already set in the environment.
It is meant to create demo accounts (a citizen, and for each agency a registry
clerk, reviewer, approver and finance officer, with known passwords printed on
the console) and a few sample applications in different states, so a visitor
can try every screen.  It must be idempotent (running it twice changes
nothing) and must refuse to run against a data folder that holds real data.

Not written yet: it does nothing until the accounts and application modules
exist.  ``ESERVICE_DEMO=1`` already shows a "demo system" banner on every page.
"""
from __future__ import annotations

__all__ = ["seed_demo"]


def seed_demo() -> None:
    """Create demo accounts and applications (not implemented yet: does nothing)."""
    return None
