"""The engine of a running app, put together once per process.

The web handlers (:func:`eservice.web.deps.engine`) and the background worker
(:func:`eservice.worker.run_once`) both start from the app's
:class:`~eservice.web.context.AppContext` (settings, catalogue, store, files,
clock) and need the same :class:`~eservice.engine.EngineContext`: the notifier
that mails applicants and the issuer that signs documents.  They get it here,
kept in ``ctx.extra``, so the worker never imports the web layer.
"""
from __future__ import annotations

from typing import Any

from .engine import EngineContext
from .notifications import Notifier
from .outputs import Outputs

__all__ = ["engine_of", "notifier_of", "outputs_of"]


def notifier_of(ctx: Any) -> Notifier:
    """The notification sender for the app's SMTP settings, outbox and public address."""
    return Notifier.from_app_context(ctx)


def outputs_of(ctx: Any) -> Outputs:
    """What issues licences and letters (rendered, signed, stored), kept per process."""
    found = ctx.extra.get("outputs")
    if found is None:
        found = ctx.extra["outputs"] = Outputs.from_settings(ctx.settings, ctx.files, ctx.clock)
    return found


def engine_of(ctx: Any) -> EngineContext:
    """The engine context of an AppContext (built once, then kept in ``ctx.extra``),
    or an EngineContext as is."""
    if isinstance(ctx, EngineContext):
        return ctx
    found = ctx.extra.get("engine")
    if found is None:
        found = ctx.extra["engine"] = EngineContext(
            catalogue=ctx.catalogue, store=ctx.store, files=ctx.files, clock=ctx.clock,
            notifier=notifier_of(ctx), outputs=outputs_of(ctx))
    return found
