"""One base for the platform's errors: a stable code, Thai and English text,
and the HTTP status the web layer answers with (STYLE 2.5).

Every exception that carries its own Thai/English pair extends
:class:`BilingualError` (EngineError, StoreError, AuthError, TokenError,
NotifyError, PluginError, ExpressionError, ApiError, StartupError, Throttled,
…).  ``status`` is a class attribute that a subclass, or one instance, may
override; one handler (:mod:`eservice.web.errors`) turns an error that reaches
the web layer into the API's JSON error or the error page.  An error with a
status of 500 or more is a fault, not a refusal: it is logged and answered
like any other server error.

This module imports nothing from the platform, so every module may use it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["BilingualError"]


class BilingualError(Exception):
    """An error a person can read in Thai or English, with a stable ``code``."""

    status: int = 500
    code: str = "error"

    def __init__(self, code: str, th: str, en: str, *, status: int | None = None) -> None:
        super().__init__(en)
        self.code = code
        self.th = th
        self.en = en
        if status is not None:
            self.status = status

    def text(self, lang: str = "th") -> str:
        """The message in ``lang`` (Thai unless ``"en"``)."""
        return self.en if lang == "en" else self.th

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "th": self.th, "en": self.en}

    def __str__(self) -> str:  # for operators and logs: Thai first
        return f"{self.th} / {self.en}"
