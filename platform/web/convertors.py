"""Path shapes, declared once as Starlette convertors (STYLE 2.4).

The pages write ``/applications/{app_id:app_id}/files/{sha256:sha256}``; a value
of another shape matches no route, so it answers the 404 page like an id that
does not exist (ids cannot be probed).  The JSON API checks the same shapes
with :func:`matches` in its handlers, so that such an id still gets the API's
own answer (the token checked first, then ``not_found``, ``no_service``, …).
``eservice.web`` imports this module first, which registers the convertors
before any route is built.

==========  ==============================  ======================================
name        shape                           for
==========  ==============================  ======================================
``app_id``  ``app-`` and 16 hex digits      an application (``Applications.start``)
``sha256``  64 lower-case hex digits        a stored file (:mod:`eservice.files`)
``ident``   ``[a-z][a-z0-9_]*``, ≤ 100      a page, document, transition or input id
``slug``    ``[a-z][a-z0-9-]*``, ≤ 100      a service id or an agency code
==========  ==============================  ======================================
"""
from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["SHAPES", "matches"]

SHAPES = {
    "app_id": r"app-[0-9a-f]{16}",
    "sha256": r"[0-9a-f]{64}",
    "ident": r"[a-z][a-z0-9_]{0,99}",
    "slug": r"[a-z][a-z0-9-]{0,99}",
}
_COMPILED = {name: re.compile(shape) for name, shape in SHAPES.items()}


class Shape(Convertor[str]):
    """A string of one shape; the value is kept as it is."""

    def __init__(self, regex: str):
        self.regex = regex

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


def matches(name: str, value: object) -> bool:
    """Whether ``value`` has the shape ``name`` (for ids that come in a form or a body)."""
    return isinstance(value, str) and _COMPILED[name].fullmatch(value) is not None


for _name, _shape in SHAPES.items():
    register_url_convertor(_name, Shape(_shape))
