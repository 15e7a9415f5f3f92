"""Follow the definitions' version stamp before every request (issue #9 item 5).

A publish through ``/admin/services`` raises a stamp in the store
(:mod:`eservice.publishing`); each server process compares it with the stamp
it loaded and reloads its catalogue when it changed, so a new version reaches
every process without a restart.  The comparison is one read of a small store
record; static files skip it.
"""
from __future__ import annotations

from typing import Any

from anyio import to_thread

from ..publishing import refresh, stamp_of


class DefinitionsStampMiddleware:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith("/static/"):
            ctx = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
            if ctx is not None and ctx.extra.get("definitions_stamp") != stamp_of(ctx.store)["stamp"]:
                await to_thread.run_sync(refresh, ctx)
        await self.app(scope, receive, send)
