"""Schemathesis against the API's own OpenAPI document (issue #17 "Done when";
CH-5, A-X2, PR-3).

The real app (``create_app``) is driven in process through its ASGI interface
by Schemathesis's engine, the same engine as ``schemathesis run``: every phase
(examples, coverage, fuzzing, stateful) and every check, including
``positive_data_acceptance`` ("valid request rejected") and
``negative_data_rejection``.  Requests carry a bearer token of a seeded,
verified account.  The example count is bounded and the seed fixed, so the run
takes about a minute and finds the same things each time.
"""
from __future__ import annotations

import schemathesis
from schemathesis.engine import events, from_schema

from eservice.auth import Accounts
from eservice.web.api_tokens import ApiTokens, TokenError
from robustness_apps import api_app, bearer

MAX_EXAMPLES = 15  # per operation and phase: about a thousand requests in all, within about a minute


def _failures(schema) -> list[str]:
    found = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        interaction = event.recorder.interactions.get(case_id)
                        request = interaction.request if interaction else None
                        response = interaction.response if interaction else None
                        found.append(f"{check.name}: {event.recorder.label}: {check.failure_info.failure.title}\n"
                                      f"  {check.failure_info.failure.message}\n"
                                      f"  {request.method if request else ''} {request.uri if request else ''} "
                                      f"→ {response.status_code if response else ''} "
                                      f"{(response.content or b'')[:300] if response else ''}\n"
                                      f"  {check.failure_info.code_sample}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            found.append(f"error: {event!r}")
        elif isinstance(event, events.EngineFinished):
            found += [f"after run: {f.title}: {f.message}" for f in event.failures]
    return found


# A file is judged by its bytes (PR-4, A-F6): bytes that are not a PDF, sent as one, are refused
# (415 wrong format, 422 broken file) although any bytes fit the schema of an upload.  No schema
# can say "a real PDF", so for this one operation those two statuses count as accepted.
UPLOAD_JUDGED_BY_CONTENT = {
    "include-operation-id": "attachDocument",
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 415, 422,
                                                                  429, "5xx"]}},
}


def test_schemathesis_finds_nothing_with_every_check(tmp_path):  # R: CH-5, A-X2, PR-3 (issue #17)
    # one service, so the answers of `PUT …/answers` have one exact schema (the document lists the
    # answers of every service, and a draft takes only its own service's)
    app, clock = api_app(tmp_path, only_api_permit=True)
    user, headers = bearer(app, clock)
    config = schemathesis.Config.from_dict({
        "seed": 17,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "checks": {"enabled": True},
        "operations": [UPLOAD_JUDGED_BY_CONTENT],
    })
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    tokens = ApiTokens(app.state.ctx.store, clock)
    users = Accounts(app.state.ctx.store, clock).users
    current = [headers["Authorization"].removeprefix("Bearer ")]

    @schema.auth(refresh_interval=None)
    class Bearer:
        """The seeded account's token, and a new one once a case revoked it
        (``DELETE /api/tokens/current`` is tested too)."""

        def get(self, case, context):
            try:
                tokens.resolve(current[0], users)
            except TokenError:
                current[0], _record = tokens.issue(user)
            return current[0]

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures = _failures(schema)
    assert failures == [], "\n\n".join(failures)
