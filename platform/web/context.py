"""The application context (built once at start-up).

:class:`AppContext` holds what every handler needs: the settings, the loaded
:class:`~eservice.spec.loader.Catalogue`, the store, the file store, the clock
and the template renderer.  Handlers reach it as ``request.app.state.ctx`` or
``get_context(request)``.

Definitions that do not load stop the start: :func:`load_catalogue` prints every
problem (file, line, what to do) and raises :class:`StartupError`;
``create_app`` turns that into a clean exit without a traceback.

:class:`Settings` and the rules built on it (:func:`public_url`,
:func:`check_public_address`) live in :mod:`eservice.settings`, the one module
that reads the environment (variables: ``docs/settings.md``); they are
re-exported here for the code that imports them from this module.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import SystemClock
from ..files import FileStore
from ..settings import (
    DEFAULT_BASE_URL, DEFAULT_SITE_NAME, Settings, StartupError, check_public_address, public_url, smtp_from_env,
)
from ..store import open_store

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import HTTPConnection

    from ..spec.loader import Catalogue, CompiledService

__all__ = ["Settings", "AppContext", "StartupError", "load_catalogue", "get_context", "public_url",
           "smtp_from_env", "check_public_address", "DEFAULT_BASE_URL"]


def load_catalogue(definitions: Sequence[Path], stream=None) -> "Catalogue":
    """Load every definition; on any problem print them all and raise StartupError."""
    from ..spec.loader import load

    stream = stream or sys.stderr
    missing = [p for p in definitions if not Path(p).exists()]
    if missing:
        shown = ", ".join(str(p) for p in missing)
        raise StartupError("no_definitions", f"ไม่พบโฟลเดอร์นิยามบริการ: {shown}", f"definitions not found: {shown}")
    catalogue, problems = load(definitions)
    if problems:
        for problem in problems:
            print(problem.format(), file=stream)
            print(file=stream)
        raise StartupError(
            "definition_problems",
            f"นิยามบริการมีปัญหา {len(problems)} รายการ ระบบจึงไม่เริ่มทำงาน แก้ไขแล้วตรวจด้วย `eservice check`",
            f"{len(problems)} problem(s) in the service definitions; the platform did not start. "
            f"Fix them and run `eservice check`.")
    return catalogue


@dataclass
class AppContext:
    """Everything a handler needs, built once per process."""

    settings: Settings
    catalogue: "Catalogue"
    store: Any = None  # eservice.store.base.Store
    files: Any = None  # eservice.files.FileStore
    clock: Any = None  # eservice.clock.Clock
    renderer: Any = None  # eservice.renderers.html.Renderer
    secret: str = field(default="", repr=False)
    extra: dict[str, Any] = field(default_factory=dict)  # other modules may keep things here

    @classmethod
    def build(cls, settings: Settings, *, catalogue: "Catalogue | None" = None, clock: Any = None,
              store: Any = None, files: Any = None) -> "AppContext":
        from ..renderers.html import Renderer

        if catalogue is None:
            catalogue = load_catalogue(settings.definitions)
        settings.data.mkdir(parents=True, exist_ok=True)
        if clock is None:
            clock = SystemClock()
        if store is None:
            store = open_store(settings.store_path, clock=clock, database_url=settings.database_url)
        if files is None:
            files = FileStore(settings.files_path)
        return cls(settings=settings, catalogue=catalogue, store=store, files=files, clock=clock,
                   renderer=Renderer(overrides=settings.templates, auto_reload=settings.debug),
                   secret=settings.secret_key())

    # -- conveniences ---------------------------------------------------------
    def service(self, service_id: str, version: int | None = None) -> "CompiledService | None":
        if version is None:
            return self.catalogue.latest(service_id)
        return self.catalogue.get(service_id, version)

    def now(self):
        if self.clock is not None:
            return self.clock.now()
        from datetime import datetime, timezone
        return datetime.now(timezone.utc)

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if callable(close):
            close()


def get_context(request: "HTTPConnection") -> AppContext:
    """The :class:`AppContext` of the running app."""
    return request.app.state.ctx
