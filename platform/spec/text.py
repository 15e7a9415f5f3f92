"""Bilingual text: every user-facing string is Thai first, English beside it."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

THAI_CHARS = re.compile(r"[\u0E00-\u0E7F]")


class Text(BaseModel):
    """``{th: …, en: …}``.  A plain string in YAML is read as Thai only; the
    loader's checks then report the missing English as a warning-free gap (the
    English falls back to Thai on screen)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    th: str
    en: str | None = None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # the exported schema accepts what the loader accepts: a plain string too
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        target["anyOf"] = [{"type": "string", "description": "Thai only"},
                           {k: target.pop(k) for k in list(target) if k not in ("title", "description")}]
        return schema

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"th": value}
        return value

    def get(self, lang: str = "th") -> str:
        if lang == "en" and self.en:
            return self.en
        return self.th

    def __str__(self) -> str:
        return self.th

    @property
    def has_thai(self) -> bool:
        return bool(THAI_CHARS.search(self.th or ""))


def t(th: str, en: str) -> Text:
    return Text(th=th, en=en)
