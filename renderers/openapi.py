"""The OpenAPI 3.1 document of the JSON API (CH-5), and a small page linking it.

:func:`build_openapi` describes every route of :mod:`eservice.web.api`: paths,
request and response schemas, the bearer-token security scheme and the one
error shape.  OpenAPI 3.1 schemas are JSON Schema 2020-12, so each loaded
service's submission schema (:func:`eservice.forms.submission_schema`) is
included as ``components.schemas["Answers.<service id>"]``; a client can take
the answers' shape of a service from here or from
``GET /api/services/{id}/schema``.

:func:`docs_html` is a plain HTML page (no scripts) listing the operations and
linking the document, served at ``/api/docs``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import escape

__all__ = ["build_openapi", "docs_html", "API_VERSION"]

API_VERSION = "1.0.0"

_JSON = "application/json"
_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    kind = out.get("type")
    out["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    return out


def _obj(properties: dict[str, Any], required: Iterable[str] = (), *, additional: bool = True,
         description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    req = list(required)
    if req:
        out["required"] = req
    if not additional:
        out["additionalProperties"] = False
    if description:
        out["description"] = description
    return out


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_DATETIME = {"type": "string", "format": "date-time"}
_DATE = {"type": "string", "format": "date"}
_URL = {"type": "string", "format": "uri"}
_VERSION = {"type": "integer", "minimum": 1, "maximum": 999_999_999_999,
            "description": "the version read (the ETag without quotes)"}
_MONEY = {"type": "string", "pattern": r"^\d+\.\d{2}$", "description": "baht with two decimals, e.g. \"1250.00\""}


def _schemas() -> dict[str, Any]:
    text = _obj({"th": _STR, "en": _STR}, ["th", "en"], description="a text in Thai and English")
    text_or_null = _nullable(_ref("Text"))
    agency = _obj({
        "code": _STR, "name": _ref("Text"), "phone": _STR, "email": _nullable(_STR),
        "address": text_or_null, "website": _nullable(_STR), "office_hours": _ref("Text"),
    }, ["code", "name", "phone"])
    catalogue_document = _obj({
        "id": _STR, "title": _ref("Text"), "description": text_or_null,
        "formats": {"type": "array", "items": {"enum": ["pdf", "jpeg", "png", "tiff", "bmp", "doc", "docx", "txt"]}},
        "format_names": {"type": "array", "items": _STR},
        "max_size_mb": {"type": "string", "description": "megabytes (MiB), as a decimal string"},
        "max_bytes": _INT,
        "required": {"type": "boolean", "description": "always required (no condition)"},
        "conditional": {"type": "boolean", "description": "whether it is needed depends on the answers"},
        "multiple": _BOOL,
    }, ["id", "title", "formats", "max_size_mb", "max_bytes", "required"])
    method = _obj({"id": _STR, "th": _STR, "en": _STR}, ["id", "th", "en"])
    fees = _obj({
        "summary": _ref("Text"), "currency": {"const": "THB"},
        "items": {"type": "array", "items": _obj({
            "id": _STR, "title": _ref("Text"), "amount": _nullable(_MONEY),
            "depends_on_answers": _BOOL, "conditional": _BOOL,
            "methods": {"type": "array", "items": method}, "due_days": _INT,
        }, ["id", "title", "amount"])},
    }, ["summary", "currency", "items"])
    service_links = _obj({"html": _URL, "self": _URL, "schema": _URL, "apply": _URL},
                         ["html", "self", "schema", "apply"])
    service = _obj({
        "id": _STR, "version": _INT, "agency": _ref("Agency"),
        "title": _ref("Text"), "summary": _ref("Text"), "category": _ref("Text"),
        "keywords": {"type": "array", "items": _STR},
        "fees": _ref("Fees"),
        "sla": _obj({"working_days": _INT, "text": _ref("Text")}, ["working_days", "text"]),
        "documents": {"type": "array", "items": _ref("CatalogueDocument")},
        "links": service_links,
    }, ["id", "version", "agency", "title", "summary", "category", "fees", "sla", "documents", "links"])
    form_field: dict[str, Any] = _obj({
        "id": _STR, "type": _STR, "label": _ref("Text"), "hint": _ref("Text"), "required": _BOOL,
        "required_when": _nullable(_STR), "when": _nullable(_STR),
        "options": {"type": "array", "items": _obj({"value": _STR, "label": _ref("Text")}, ["value", "label"])},
        "fields": {"type": "array", "items": _ref("FormField")},
    }, ["id", "type", "label", "required"],
        description="one question; `when` is the condition (CEL) under which it applies")
    service_detail = {"allOf": [_ref("Service"), _obj({
        "who_can_apply": text_or_null,
        "steps": {"type": "array", "items": _ref("Text")},
        "legal_basis": {"type": "array", "items": _ref("Text")},
        "contact": _nullable(_obj({"phone": _nullable(_STR), "email": _nullable(_STR), "office": text_or_null})),
        "declaration": _ref("Declaration"),
        "form": {"type": "array", "items": _obj({
            "id": _STR, "title": _ref("Text"),
            "pages": {"type": "array", "items": _obj({
                "id": _STR, "title": _ref("Text"), "when": _nullable(_STR),
                "fields": {"type": "array", "items": _ref("FormField")}}, ["id", "title", "fields"])},
        }, ["id", "title", "pages"])},
        "states": {"type": "array", "items": _obj({
            "id": _STR, "title": _ref("Text"), "description": text_or_null, "final": _BOOL,
            "outcome": _nullable(_STR)}, ["id", "title", "final"])},
    }, ["legal_basis", "declaration", "form", "states"])]}
    problem = _obj({
        "path": {"type": "string", "description": "where: `answers.<field>` (`answers.group[2].field`), "
                                                  "`documents.<document id>`, or a member of the request body"},
        "code": _STR, "th": _STR, "en": _STR,
    }, ["path", "code", "th", "en"])
    error = _obj({"error": _obj({
        "status": _INT, "code": {"type": "string", "description": "stable, for programs"},
        "th": _STR, "en": _STR,
        "errors": {"type": "array", "items": _ref("Problem")},
        "current_version": {"type": ["integer", "null"], "description": "with version_conflict"},
    }, ["status", "code", "th", "en", "errors"])}, ["error"])
    declaration = _obj({"th": _STR, "en": _STR}, ["th", "en"], additional=False,
                       description="the declaration text shown to the applicant (A-F8), echoed exactly")
    state = _obj({
        "id": _STR, "title": _ref("Text"), "description": text_or_null, "applicant_action": text_or_null,
        "final": _BOOL, "outcome": _nullable(_STR),
    }, ["id", "title", "description", "applicant_action", "final"])
    history = _obj({
        "seq": _INT, "at": _DATETIME, "type": _STR,
        "by": {"enum": ["applicant", "officer", "system"]}, "th": _STR, "en": _STR,
    }, ["seq", "at", "type", "by", "th", "en"])
    stored_file = _obj({"filename": _STR, "media_type": _STR, "size": _INT,
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "uploaded_at": _DATETIME}, ["filename", "media_type", "size", "sha256"])
    app_document = _obj({"id": _STR, "title": _ref("Text"), "formats": {"type": "array", "items": _STR},
                         "files": {"type": "array", "items": _ref("StoredFile")}}, ["id", "title", "files"])
    fee_item = _obj({"id": _STR, "title": _ref("Text"), "amount": _nullable(_MONEY),
                     "status": _nullable(_STR),
                     "due_on": _nullable(_DATE), "methods": {"type": "array", "items": _STR}}, ["id", "title", "amount"])
    application = _obj({
        "id": _STR, "reference": {"type": "string", "description": "the tracking code, e.g. K7QM-2XHP-9TRA"},
        "version": {"type": "integer", "description": "send it back as If-Match to change the application"},
        "service": _obj({"id": _STR, "version": _INT, "title": _ref("Text")}, ["id", "version", "title"]),
        "agency": _ref("Agency"),
        "state": _ref("State"), "closed": _BOOL,
        "created_at": _DATETIME, "updated_at": _DATETIME,
        "submitted_at": _nullable(_DATETIME), "intake_number": _nullable(_STR), "intake_at": _nullable(_DATETIME),
        "sla_due": _nullable(_DATETIME), "expected_completion": text_or_null,
        "answers": {"type": "object", "description": "the stored answers (see Answers.<service id>)"},
        "documents": {"type": "array", "items": _ref("ApplicationDocument")},
        "errors": {"type": "array", "items": _ref("Problem"),
                   "description": "drafts and applications sent back for changes: what still stops "
                                  "submission or sending the changes (A-F6)"},
        "fees": {"type": "array", "items": _ref("FeeItem")},
        "estimated_fees": {"type": "array", "items": _ref("FeeItem")},
        "history": {"type": "array", "items": _ref("HistoryEvent")},
        "declaration": _nullable(_ref("Declaration")),
        "actions": {"type": "array", "items": _ref("Action"),
                    "description": "the workflow actions the token's user may take now, e.g. sending the "
                                   "changes the agency asked for; take one with POST its `href` (empty for "
                                   "a draft: use `links.submit`)"},
        "dropped": {"type": "array", "items": _STR,
                    "description": "answers not stored because other answers make them not applicable"},
        "links": _obj({"self": _URL, "service": _URL, "schema": _URL, "tracking": _URL, "answers": _URL,
                       "documents": {"type": "string", "description": "URI template with {document_id}"},
                       "submit": _URL}, ["self", "service", "schema", "tracking"]),
    }, ["id", "reference", "version", "service", "agency", "state", "closed", "links"],
        description="list items carry the summary members; a single application has them all")
    action_input = _obj({
        "id": _STR, "label": _ref("Text"), "required": _BOOL,
        "type": {"enum": ["text", "long_text", "date", "choice", "checklist", "number", "money", "yes_no",
                          "documents"]},
        "options": {"type": "array", "items": _obj({"value": _STR, "label": _ref("Text")}, ["value", "label"])},
    }, ["id", "type", "label", "required"], description="a value to send in `inputs` when taking the action")
    action = _obj({
        "id": {"type": "string", "description": "the transition id of the service's workflow"},
        "title": _ref("Text"),
        "inputs": {"type": "array", "items": _ref("ActionInput")},
        "href": {**_URL, "description": "POST here to take the action"},
    }, ["id", "title", "inputs", "href"])
    receipt = _obj({
        "reference": _STR, "intake_number": {"type": "string", "description": "เลขรับ, e.g. 12/2566 (RC-3)"},
        "intake_at": {**_DATETIME, "description": "registered time; outside office hours the next working "
                                                  "day's opening (RC-4)"},
        "submitted_at": _DATETIME, "sla_due": _nullable(_DATETIME), "expected_completion": text_or_null,
        "sla": _obj({"working_days": _INT, "text": _ref("Text")}, ["working_days", "text"]),
        "agency": _ref("Agency"),
        "content_sha256": {"type": "string", "description": "SHA-256 of the signed content (A-F8)"},
        "tracking": _obj({"html": _URL, "api": _URL, "reference": _STR}, ["html", "api", "reference"]),
    }, ["reference", "intake_number", "intake_at", "submitted_at", "sla_due", "agency", "tracking"])
    return {
        "Text": text, "Agency": agency, "CatalogueDocument": catalogue_document, "Fees": fees,
        "Service": service, "FormField": form_field, "ServiceDetail": service_detail,
        "ServiceList": _obj({"count": _INT, "services": {"type": "array", "items": _ref("Service")}},
                            ["count", "services"]),
        "JSONSchema": {"type": "object", "description": "a JSON Schema (draft 2020-12)"},
        "Problem": problem, "Error": error, "Declaration": declaration,
        "TokenRequest": _obj({"email": {"type": "string", "format": "email"}, "password": _STR},
                             ["email", "password"], additional=False),
        "Token": _obj({"token": _STR, "token_type": {"const": "Bearer"}, "expires_at": _DATETIME,
                       "user": _obj({"id": _STR, "email": _STR}, ["id", "email"])},
                      ["token", "token_type", "expires_at", "user"]),
        "TokenInfo": _obj({"user": _obj({"id": _STR, "email": _STR}, ["id", "email"]),
                           "created_at": _DATETIME, "expires_at": _DATETIME}, ["user", "expires_at"]),
        "CreateApplication": _obj({
            "service": {"type": "string", "description": "a service id from /api/services"},
            "answers": {"type": "object", "description": "answers by field id (Answers.<service id>); "
                                                         "null means no answer"},
        }, ["service"], additional=False),
        "ReplaceAnswers": _obj({
            "answers": {"type": "object", "description": "every answer of the draft (DraftAnswers.<service id>); "
                                                         "absent ones are cleared"},
            "version": {**_VERSION, "description": "the version read; required, unless the If-Match header "
                                                   "carries it (neither: 428 `version_required`)"},
        }, ["answers", "version"], additional=False),
        "SubmitRequest": _obj({
            "declaration": _ref("Declaration"), "intent": {"const": True},
            "version": _VERSION,
        }, ["declaration", "intent"], additional=False),
        "ActionRequest": _obj({
            "inputs": {"type": "object", "description": "the action's inputs by id (see Action.inputs)"},
            "version": {**_VERSION, "description": "the version read (or send If-Match)"},
        }, additional=False),
        "Action": action, "ActionInput": action_input,
        "State": state, "HistoryEvent": history, "StoredFile": stored_file,
        "ApplicationDocument": app_document, "FeeItem": fee_item, "Application": application,
        "ApplicationList": _obj({"count": _INT, "applications": {"type": "array", "items": _ref("Application")}},
                                ["count", "applications"]),
        "Receipt": receipt,
        "SubmitResult": _obj({"receipt": _ref("Receipt"), "application": _ref("Application")},
                             ["receipt", "application"]),
        "UploadResult": _obj({"file": {"allOf": [_ref("StoredFile"), _obj({"document": _STR})]},
                              "application": _ref("Application")}, ["file", "application"]),
    }


_ERRORS = {
    "400": ("BadRequest", "the body or a header cannot be read: `invalid_json` (not UTF-8 JSON, or NaN/Infinity), "
                          "`too_deep` (arrays and objects nested more than 32 deep), `number_too_large` (a "
                          "number literal over 100 characters), `invalid_multipart`, `invalid_if_match` (If-Match "
                          "is not a version number such as \"3\")"),
    "401": ("Unauthorized", "no token, an unknown, revoked or expired token, or wrong credentials"),
    "403": ("Forbidden", "the account is disabled or its e-mail is not verified, or the action is not "
                         "the applicant's to take"),
    "404": ("NotFound", "no such service, document or application (another person's application "
                        "is not found either)"),
    "409": ("Conflict", "stale version (`version_conflict`, with `current_version`; also when If-Match and "
                        "`version` disagree), the application is not complete (`invalid`: `errors` lists each "
                        "problem by path), already submitted (`not_editable`), the declaration differs from "
                        "the one required, or the action is not possible now (`wrong_state`, `guard`, "
                        "`deadline_passed`)"),
    "413": ("TooLarge", "the body or file is over the limit"),
    "415": ("UnsupportedMediaType", "the body is not JSON (or not a file)"),
    "422": ("Unprocessable", "invalid or unknown members or answers (`invalid_body`, `invalid_answers`: "
                             "`errors` lists each with its path and code, e.g. `control_characters`, "
                             "`date_range`), or `no_service` (the `service` is not one of /api/services)"),
    "428": ("VersionRequired", "`version_required`: send If-Match or `version`"),
    "429": ("Locked", "too many failed sign-ins; try again later"),
}


def _responses() -> dict[str, Any]:
    return {name: {"description": text, "content": {_JSON: {"schema": _ref("Error")}}}
            for name, text in _ERRORS.values()}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/{_ERRORS[code][0]}"} for code in codes}


def _json_response(description: str, schema: dict[str, Any], headers: dict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {_JSON: {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": _ref(schema_name)}}}


_ETAG = {"ETag": {"description": "the application's version, quoted; send it as If-Match",
                  "schema": {"type": "string"}}}
_BEARER = [{"bearerToken": []}]
_PUBLIC: list = []


def _param(name: str, where: str, description: str, *, required: bool = True,
           schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


_APP_ID = _param("app_id", "path", "the application id (`app-…`)")
_SERVICE_ID = _param("service_id", "path", "the service id")
_IF_MATCH = _param("If-Match", "header", "the version read, e.g. \"3\" (the ETag); anything else is 400 "
                   "`invalid_if_match`", required=False,
                   schema={"type": "string", "pattern": r'^[ \t]*(?:W/)?"?[0-9]{1,12}"?[ \t]*$'})


def _paths(media_types: list[str]) -> dict[str, Any]:
    raw_body = {media: {"schema": {}} for media in media_types}
    return {
        "/api/tokens": {"post": {
            "operationId": "issueToken", "tags": ["tokens"], "security": _PUBLIC,
            "summary": "ขอโทเคน / Get a personal access token",
            "description": "Sign in with e-mail and password (same lock-out as the sign-in page). The token "
                           "is shown once; send it as `Authorization: Bearer <token>`. Valid 30 days.",
            "requestBody": _body("TokenRequest"),
            "responses": {"201": _json_response("the token", _ref("Token")),
                          **_errors("400", "401", "403", "413", "415", "422", "429")},
        }},
        "/api/tokens/current": {
            "get": {"operationId": "tokenInfo", "tags": ["tokens"], "security": _BEARER,
                    "summary": "โทเคนที่ใช้อยู่ / The token in use",
                    "responses": {"200": _json_response("its account and expiry", _ref("TokenInfo")),
                                  **_errors("401")}},
            "delete": {"operationId": "revokeToken", "tags": ["tokens"], "security": _BEARER,
                       "summary": "ยกเลิกโทเคน / Revoke the token",
                       "responses": {"204": {"description": "revoked"}, **_errors("401")}},
        },
        "/api/services": {"get": {
            "operationId": "listServices", "tags": ["catalogue"], "security": _PUBLIC,
            "summary": "รายการบริการ / The service catalogue (CH-5)",
            "parameters": [_param("agency", "query", "only this agency's services", required=False),
                           _param("q", "query", "search in Thai or English", required=False)],
            "responses": {"200": _json_response("current services", _ref("ServiceList"))},
        }},
        "/api/services/{service_id}": {"get": {
            "operationId": "getService", "tags": ["catalogue"], "security": _PUBLIC,
            "summary": "รายละเอียดบริการ / One service", "parameters": [_SERVICE_ID],
            "responses": {"200": _json_response("the service", _ref("ServiceDetail")), **_errors("404")},
        }},
        "/api/services/{service_id}/schema": {"get": {
            "operationId": "getServiceSchema", "tags": ["catalogue"], "security": _PUBLIC,
            "summary": "JSON Schema ของคำตอบ / JSON Schema of the answers", "parameters": [_SERVICE_ID],
            "description": "Conditions (`when`) are not expressible in JSON Schema; the server applies them "
                           "and drops answers to fields that do not apply.",
            "responses": {"200": {"description": "a JSON Schema 2020-12",
                                  "content": {"application/schema+json": {"schema": _ref("JSONSchema")}}},
                          **_errors("404")},
        }},
        "/api/applications": {
            "get": {"operationId": "listApplications", "tags": ["applications"], "security": _BEARER,
                    "summary": "คำขอของฉัน / My applications",
                    "parameters": [_param("reference", "query", "a tracking code: gives that application in full",
                                          required=False)],
                    "responses": {"200": _json_response("newest first", _ref("ApplicationList")),
                                  **_errors("401", "404")}},
            "post": {"operationId": "createApplication", "tags": ["applications"], "security": _BEARER,
                     "summary": "เริ่มคำขอ / Start a draft",
                     "description": "Prefilled from the profile (A-F2); `answers`, when given, are checked "
                                    "against the service's schema first (nothing is created when they fail).",
                     "requestBody": _body("CreateApplication"),
                     "responses": {"201": _json_response("the draft", _ref("Application"),
                                                         {**_ETAG, "Location": {"schema": _URL}}),
                                   **_errors("400", "401", "413", "415", "422")}},
        },
        "/api/applications/{app_id}": {"get": {
            "operationId": "getApplication", "tags": ["applications"], "security": _BEARER,
            "summary": "สถานะคำขอ / Status, history, fees and documents", "parameters": [_APP_ID],
            "responses": {"200": _json_response("the application", _ref("Application"), _ETAG),
                          **_errors("401", "404")},
        }},
        "/api/applications/{app_id}/answers": {"put": {
            "operationId": "replaceAnswers", "tags": ["applications"], "security": _BEARER,
            "summary": "แก้คำตอบ / Replace a draft's answers", "parameters": [_APP_ID, _IF_MATCH],
            "description": "Every answer at once; absent ones are cleared. Accepted for a draft, and after "
                           "submission while the agency has sent the application back for changes (the "
                           "state's `editable_by_applicant`); then the change is recorded in the history and "
                           "sent with the action that returns the application (see `actions`).",
            "requestBody": _body("ReplaceAnswers"),
            "responses": {"200": _json_response("the draft; `errors` lists what still stops submission",
                                                _ref("Application"), _ETAG),
                          **_errors("400", "401", "404", "409", "413", "415", "422", "428")},
        }},
        "/api/applications/{app_id}/documents/{document_id}": {"post": {
            "operationId": "attachDocument", "tags": ["applications"], "security": _BEARER,
            "summary": "แนบเอกสาร / Attach a file",
            "description": "multipart/form-data with one file part (`file`), or the file's bytes with its "
                           "Content-Type and `?filename=`. The file is judged by its bytes (PR-4). Accepted "
                           "for a draft and while the application is sent back for changes.",
            "parameters": [_APP_ID, _param("document_id", "path", "a document id of the service"),
                           _param("filename", "query", "the file name (raw bodies)", required=False), _IF_MATCH],
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": _obj({"file": {"type": "string",
                                                                 "contentMediaType": "application/octet-stream"}},
                                                       ["file"])},
                **raw_body}},
            "responses": {"201": _json_response("stored and attached", _ref("UploadResult"), _ETAG),
                          **_errors("400", "401", "404", "409", "413", "415", "422")},
        }},
        "/api/applications/{app_id}/submit": {"post": {
            "operationId": "submitApplication", "tags": ["applications"], "security": _BEARER,
            "summary": "ลงนามและยื่นคำขอ / Sign and submit",
            "description": "Echo the `declaration` of the draft exactly as shown to the applicant, with "
                           "`intent: true` (ETDA type-1 e-signature, A-F8). Returns the receipt (RC-3, A-F10). "
                           "A draft that is not complete yet is 409 `invalid`, with each problem by path.",
            "parameters": [_APP_ID, _IF_MATCH], "requestBody": _body("SubmitRequest"),
            "responses": {"201": _json_response("submitted", _ref("SubmitResult"), _ETAG),
                          **_errors("400", "401", "404", "409", "413", "415", "422")},
        }},
        "/api/applications/{app_id}/actions/{transition_id}": {"post": {
            "operationId": "takeAction", "tags": ["applications"], "security": _BEARER,
            "summary": "ดำเนินการตามขั้นตอน / Take a workflow action",
            "description": "One of the application's `actions`, e.g. sending the changes or documents the "
                           "agency asked for. Sending from a state where the applicant may edit checks the "
                           "whole application again: `invalid` (409) lists each problem by path "
                           "(`answers.<field>`, `documents.<document id>`); an input's problem has the path "
                           "`inputs.<input id>`. `wrong_state`, `guard` and `deadline_passed` are 409, an "
                           "officer's action 403.",
            "parameters": [_APP_ID, _param("transition_id", "path", "an action id from the application's `actions`"),
                           _IF_MATCH],
            "requestBody": {"required": False, "content": {_JSON: {"schema": _ref("ActionRequest")}}},
            "responses": {"200": _json_response("the application in its new state", _ref("Application"), _ETAG),
                          **_errors("400", "401", "403", "404", "409", "413", "415", "422")},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["meta"], "security": _PUBLIC, "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {_JSON: {"schema": {"type": "object"}}}}},
        }},
    }


def _answer_schema(service: Any) -> dict[str, Any]:
    from ..forms import submission_schema

    schema = dict(submission_schema(service))
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


def _draft_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """What a draft takes (``POST /api/applications``, ``PUT …/answers``): any of
    the answers, each may be null ("no answer"); the rest is checked on submission."""
    out = {k: v for k, v in answers.items() if k != "required"}
    out["properties"] = {k: _nullable_schema(v) for k, v in answers["properties"].items()}
    out["description"] = ("answers of a draft: any subset; null means no answer. Submission needs the "
                          "required ones (Answers.<service id>)")
    return out


def _nullable_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _create_application(services: list[Any]) -> dict[str, Any]:
    """One shape per service, so each `service` goes with the answers of its own form."""
    return {"oneOf": [_obj({
        "service": {"const": service.id, "description": "a service id from /api/services"},
        "answers": _ref(f"DraftAnswers.{service.id}"),
    }, ["service"], additional=False) for service in services]}


def build_openapi(services: Iterable[Any] = (), *, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document; ``services`` adds each one's answer schema."""
    from ..documents import MEDIA_TYPES

    schemas = _schemas()
    listed = []
    services = list(services)
    for service in services:
        schemas[f"Answers.{service.id}"] = _answer_schema(service)
        schemas[f"DraftAnswers.{service.id}"] = _draft_answers(schemas[f"Answers.{service.id}"])
        listed.append(f"`{service.id}` ({service.definition.title.get('en')})")
    if services:
        schemas["CreateApplication"] = _create_application(services)
        replace = schemas["ReplaceAnswers"]["properties"]
        replace["answers"] = {"anyOf": [_ref(f"DraftAnswers.{s.id}") for s in services],
                              "description": "every answer of the draft, of its own service's form "
                                            "(DraftAnswers.<service id>); absent ones are cleared"}
    media_types = sorted(set(MEDIA_TYPES.values())) + ["application/octet-stream"]
    description = (
        "บริการภาครัฐอิเล็กทรอนิกส์: รายการบริการและการยื่นคำขอสำหรับพอร์ทัลกลาง (CH-5)\n\n"
        "The e-Service platform's catalogue and submission API for central portals (CH-5). "
        "Authenticate with a personal access token from `POST /api/tokens`, sent as "
        "`Authorization: Bearer <token>`; cookies are never accepted. Every error is "
        "`{\"error\": {status, code, th, en, errors: [{path, code, th, en}]}}`.\n\n"
        "Flow: `POST /api/applications` → `PUT …/answers` → `POST …/documents/{document_id}` → "
        "`POST …/submit` → `GET /api/applications/{app_id}`; when the agency asks for changes: "
        "`PUT …/answers` / `POST …/documents/{document_id}` → `POST …/actions/{transition_id}` "
        "(one of the application's `actions`)."
    )
    if listed:
        description += "\n\nServices: " + ", ".join(listed) + "."
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "eService API", "version": API_VERSION, "description": description,
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": "tokens", "description": "authentication"},
                 {"name": "catalogue", "description": "the service catalogue (public)"},
                 {"name": "applications", "description": "drafts, documents, submission, status"},
                 {"name": "meta"}],
        "paths": _paths(media_types),
        "components": {
            "schemas": schemas,
            "responses": _responses(),
            "securitySchemes": {"bearerToken": {
                "type": "http", "scheme": "bearer",
                "description": "a personal access token from POST /api/tokens"}},
        },
    }
    # issued documents (#7): their download, and `issued` in an application
    from ..web.api.issued import openapi_paths

    document["paths"].update(openapi_paths())
    schemas["Application"]["properties"]["issued"] = {
        "type": "array", "description": "licences and letters the agency signed; download each from `href`",
        "items": {"type": "object", "required": ["kind", "id", "title", "href", "sha256"], "properties": {
            "kind": {"enum": ["licence", "letter"]}, "id": {"type": "string"}, "title": _ref("Text"),
            "number": {"type": ["string", "null"]}, "issued_at": {"type": ["string", "null"]},
            "valid_until": {"type": ["string", "null"], "format": "date"},
            "signed_by": {"type": "object"}, "signature_level": {"type": ["string", "null"]},
            "document_id": {"type": ["string", "null"]}, "filename": {"type": ["string", "null"]},
            "size": {"type": ["integer", "null"]}, "sha256": {"type": "string"}, "href": _URL}}}
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def docs_html(document: dict[str, Any], *, openapi_url: str = "/openapi.json") -> str:
    """A plain page listing the operations of ``document`` (no scripts)."""
    rows = []
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            secured = "🔒" if op.get("security") else ""
            rows.append(f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(op.get('summary', ''))}</td><td>{secured}</td></tr>")
    title = escape(document.get("info", {}).get("title", "API"))
    return (
        "<!doctype html>\n<html lang=\"th\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{title}</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head>"
        f"<body><main class=\"container\"><h1>{title}</h1>"
        "<p>เอกสาร OpenAPI 3.1 สำหรับระบบที่เชื่อมต่อ / The OpenAPI 3.1 document for integrators: "
        f"<a href=\"{escape(openapi_url)}\">{escape(openapi_url)}</a></p>"
        "<p>ขอโทเคนด้วย <code>POST /api/tokens</code> แล้วส่ง <code>Authorization: Bearer &lt;token&gt;</code> "
        "/ Get a token with <code>POST /api/tokens</code> and send it as "
        "<code>Authorization: Bearer &lt;token&gt;</code>.</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>ใช้ทำอะไร / What</th><th>Token</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></main></body></html>\n"
    )
