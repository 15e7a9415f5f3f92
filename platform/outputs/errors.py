"""The one error of issuing documents: an :class:`~eservice.engine.EngineError`
(code, Thai, English, HTTP status), so the workflow refuses the transition with
a message a person can act on and records nothing."""
from __future__ import annotations

from typing import Any

from ..engine import EngineError

__all__ = ["OutputError"]


class OutputError(EngineError):
    """A document could not be rendered, signed or stored (status 503 by default:
    the transition may succeed once the keys, the time-stamp service or the
    template are put right)."""

    def __init__(self, code: str, th: str, en: str, status: int = 503, **details: Any):
        super().__init__(code, th, en, status=status, **details)
