"""JSON Schema of the definition format, so editors validate YAML as staff type."""
from __future__ import annotations

from typing import Any

from .models import Agency, Service

SCHEMA_ID = "https://eservice.example/schema/definition-v1.json"


def definition_schema(kind: str = "any") -> dict[str, Any]:
    """``kind``: ``service``, ``agency`` or ``any`` (either, chosen by `kind:`)."""
    if kind == "service":
        schema = Service.model_json_schema(by_alias=True)
    elif kind == "agency":
        schema = Agency.model_json_schema(by_alias=True)
    else:
        service = Service.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        agency = Agency.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs = {**service.pop("$defs", {}), **agency.pop("$defs", {})}
        defs["Service"] = service
        defs["Agency"] = agency
        schema = {
            "$defs": defs,
            "oneOf": [
                {"$ref": "#/$defs/Agency", "properties": {"kind": {"const": "agency"}},
                 "required": ["kind"]},
                {"$ref": "#/$defs/Service"},
            ],
        }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema.setdefault("title", "eservice definition (service or agency), schema_version 1")
    return schema
