"""The JSON API for central portals and integrators (CH-5; issue #3 item 9).

Every route here answers JSON in UTF-8.  Errors always have one shape::

    {"error": {"status": 422, "code": "invalid_answers", "th": "…", "en": "…",
               "errors": [{"path": "answers.shop_area", "code": "type", "th": "…", "en": "…"}]}}

``path`` points into the application as the API shows it: ``answers.<field>``
(``answers.items[2].name`` inside a group), ``documents.<document id>``, or a
member of the request body (``service``, ``declaration``, ``intent``, ``version``).

Authentication (A-X2): ``/api/`` is exempt from the CSRF check, so the session
cookie is **never** accepted here.  A client gets a personal access token with
``POST /api/tokens`` and sends ``Authorization: Bearer <token>``
(:mod:`eservice.web.api_tokens`).  The catalogue, the schemas and the OpenAPI
document are public.

=============================================================  ======  ===========================
``/api/tokens``                                                POST    a token for e-mail + password
``/api/tokens/current``                                        GET     the token's account and expiry
``/api/tokens/current``                                        DELETE  revoke the token
``/api/services``                                              GET     the service catalogue (CH-5)
``/api/services/{service_id}``                                 GET     one service in detail
``/api/services/{service_id}/schema``                          GET     JSON Schema of its answers
``/api/applications``                                          GET     the token's applications
                                                                       (``?reference=`` one of them)
``/api/applications``                                          POST    a draft ``{service, answers?}``
``/api/applications/{app_id}``                                 GET     status, history, fees, documents
``/api/applications/{app_id}/answers``                         PUT     replace the answers of a draft or
                                                                       of an application sent back for
                                                                       changes (``If-Match`` or ``version``)
``/api/applications/{app_id}/documents/{document_id}``         POST    attach a file (multipart or raw)
``/api/applications/{app_id}/submit``                          POST    sign (A-F8) and submit
``/api/applications/{app_id}/actions/{transition_id}``         POST    take one of the applicant's own
                                                                       workflow actions ``{inputs?, version?}``
``/openapi.json``                                              GET     the OpenAPI 3.1 document
``/api/docs``                                                  GET     a page linking the document
=============================================================  ======  ===========================

Answers are checked twice (A-F6, PR-3): first against the service's submission
JSON Schema (types, choices, unknown fields → 422, nothing stored), then by the
engine's own validation (:func:`eservice.forms.validate`: rules, conditions,
plugin field types).  A draft keeps answers that are still incomplete; their
problems are listed in the application's ``errors`` and stop submission.
Answers to fields that the other answers hide are dropped, never stored, and
listed in ``dropped``.

Only the token's own applications are visible; any other id answers 404, the
same as an id that does not exist, so ids cannot be probed.  The routes here
take any path segment and check its shape in the handler
(:func:`eservice.web.convertors.matches`), after the token and the method: an
id of another shape gets the API's own answer (401, 405, then ``not_found``,
``no_service``, …), never the router's plain 404.

After submission the agency may send an application back (a state with
``editable_by_applicant: true``, e.g. "send more documents").  Then, as in a
draft, ``PUT …/answers`` and document uploads are accepted (each change is
recorded in the history) and ``errors`` lists what is still missing; the
application's ``actions`` are the workflow transitions the applicant may take
now, each taken with ``POST …/actions/{transition_id}``.  Sending the changes
checks the whole application again (``invalid`` with the problems' paths) and
renews the signature evidence (A-F6, A-F8).  The API always acts as the
applicant: an officer's own application is handled with the applicant's rights,
never the officer's.
"""
from __future__ import annotations

from starlette.routing import Route

from .applications import create_application, get_application, list_applications, put_answers, \
    submit_application, take_action
from .docs import docs_page, openapi_document
from .documents import upload_document
from .errors import ApiError
from .issued import routes as issued_routes
from .http import ALL_METHODS, JSON_LIMIT, MAX_JSON_DEPTH, MAX_NUMBER_CHARS, endpoint, read_json
from .services import get_schema, get_service, list_services
from .tokens import issue_token, revoke_token, token_info

__all__ = ["routes", "ApiError", "JSON_LIMIT", "MAX_JSON_DEPTH", "MAX_NUMBER_CHARS", "read_json"]

routes = [
    Route("/api/tokens", endpoint(post=issue_token), methods=ALL_METHODS, name="api_tokens"),
    Route("/api/tokens/current", endpoint(get=token_info, delete=revoke_token), methods=ALL_METHODS,
          name="api_token_current"),
    Route("/api/services", endpoint(get=list_services), methods=ALL_METHODS, name="api_services"),
    Route("/api/services/{service_id}", endpoint(get=get_service), methods=ALL_METHODS, name="api_service"),
    Route("/api/services/{service_id}/schema", endpoint(get=get_schema), methods=ALL_METHODS,
          name="api_service_schema"),
    Route("/api/applications", endpoint(get=list_applications, post=create_application), methods=ALL_METHODS,
          name="api_applications"),
    Route("/api/applications/{app_id}", endpoint(get=get_application), methods=ALL_METHODS,
          name="api_application"),
    Route("/api/applications/{app_id}/answers", endpoint(put=put_answers), methods=ALL_METHODS,
          name="api_application_answers"),
    Route("/api/applications/{app_id}/documents/{document_id}", endpoint(post=upload_document),
          methods=ALL_METHODS, name="api_application_document"),
    Route("/api/applications/{app_id}/submit", endpoint(post=submit_application), methods=ALL_METHODS,
          name="api_application_submit"),
    Route("/api/applications/{app_id}/actions/{transition_id}", endpoint(post=take_action),
          methods=ALL_METHODS, name="api_application_action"),
    Route("/openapi.json", endpoint(get=openapi_document), methods=ALL_METHODS, name="openapi"),
    Route("/api/docs", endpoint(get=docs_page), methods=ALL_METHODS, name="api_docs"),
    *issued_routes,  # /api/applications/{app_id}/issued/{sha256} (#7)
]
