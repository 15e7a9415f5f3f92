"""The web layer (Starlette).  The path shapes are registered first, so every
route module can use them (``{app_id:app_id}``; :mod:`eservice.web.convertors`)."""
from . import convertors  # noqa: F401  (registers the convertors)
