"""The authorisation matrix (A-X1, CH-4), written out by hand.

Every role × every action of ``policy.ACTION_ROLES`` (plus the applicant's own
actions and the administrator's) × own agency / another agency / a role
limited to another service of the own agency.  The expected answers are the
table below — *not* computed from ``policy.py`` — so a change to who may do
what shows up here as a failing row that someone must consciously rewrite.
"""
from __future__ import annotations

import pytest

from eservice.policy import ACTION_ROLES, SYSTEM, Actor, Grant, allowed, may_take, scope_declared

OWN, OTHER = "own-agency", "other-agency"
SERVICE, OTHER_SERVICE = "food-permit", "building-permit"

ROLES = ("registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer",
         "head_of_agency", "agency_admin", "system_admin", "applicant", "anonymous")

# Own agency, a submitted application (the applicant column: their own application).
#                   clerk  rev  appr  sign  fin  head  admin  sysadm  applicant  anon
EXPECTED_OWN = """
view_inbox           Y     Y    Y     Y     Y    Y     Y      .       .          .
view_application     Y     Y    Y     Y     Y    Y     Y      .       Y          .
claim                Y     Y    Y     Y     Y    .     .      .       .          .
assign               Y     .    .     .     .    Y     Y      .       .          .
refer                Y     .    .     .     .    Y     .      .       .          .
approve_disposal     .     .    .     .     .    Y     .      .       .          .
view_reports         .     .    Y     .     .    Y     Y      .       .          .
verify_payment       .     .    .     .     Y    .     .      .       .          .
reconcile_payments   .     .    .     .     Y    Y     .      .       .          .
sign                 .     .    .     Y     .    .     .      .       .          .
manage_staff         .     .    .     .     .    .     Y      .       .          .
change_licence_status .    .    .     Y     .    Y     .      .       .          .
edit_definition      .     .    .     .     .    .     .      .       .          .
approve_definition   .     .    .     .     .    .     Y      .       .          .
publish_announcement  .    .    .     .     .    Y     .      .       .          .
view_own             .     .    .     .     .    .     .      .       Y          .
edit_draft           .     .    .     .     .    .     .      .       Y          .
submit               .     .    .     .     .    .     .      .       Y          .
withdraw             .     .    .     .     .    .     .      .       Y          .
view_audit           .     .    .     .     .    .     .      Y       .          .
manage_agencies      .     .    .     .     .    .     .      Y       .          .
"""

# Another agency's application (the applicant column: someone else's application).
# The system administrator's platform-wide actions do not depend on the agency.
#                   clerk  rev  appr  sign  fin  head  admin  sysadm  applicant  anon
EXPECTED_OTHER = """
view_inbox           .     .    .     .     .    .     .      .       .          .
view_application     .     .    .     .     .    .     .      .       .          .
claim                .     .    .     .     .    .     .      .       .          .
assign               .     .    .     .     .    .     .      .       .          .
refer                .     .    .     .     .    .     .      .       .          .
approve_disposal     .     .    .     .     .    .     .      .       .          .
view_reports         .     .    .     .     .    .     .      .       .          .
verify_payment       .     .    .     .     .    .     .      .       .          .
reconcile_payments   .     .    .     .     .    .     .      .       .          .
sign                 .     .    .     .     .    .     .      .       .          .
manage_staff         .     .    .     .     .    .     .      .       .          .
change_licence_status .    .    .     .     .    .     .      .       .          .
edit_definition      .     .    .     .     .    .     .      .       .          .
approve_definition   .     .    .     .     .    .     .      .       .          .
publish_announcement  .    .    .     .     .    .     .      .       .          .
view_own             .     .    .     .     .    .     .      .       .          .
edit_draft           .     .    .     .     .    .     .      .       .          .
submit               .     .    .     .     .    .     .      .       .          .
withdraw             .     .    .     .     .    .     .      .       .          .
view_audit           .     .    .     .     .    .     .      Y       .          .
manage_agencies      .     .    .     .     .    .     .      Y       .          .
"""


def _table(text: str) -> dict[tuple[str, str], bool]:
    out = {}
    for line in text.strip().splitlines():
        action, *marks = line.split()
        assert len(marks) == len(ROLES), line
        for role, mark in zip(ROLES, marks):
            assert mark in ("Y", "."), line
            out[action, role] = mark == "Y"
    return out


OWN_TABLE = _table(EXPECTED_OWN)
OTHER_TABLE = _table(EXPECTED_OTHER)
ACTIONS = sorted({a for a, _ in OWN_TABLE})
APPLICANT_ID = "u-applicant"


def _actor(role: str, agency: str = OWN, services: tuple[str, ...] | None = None) -> Actor:
    if role == "anonymous":
        return Actor(user_id="")
    if role == "applicant":
        return Actor(user_id=APPLICANT_ID)
    if role == "system_admin":
        return Actor(user_id="u-admin", grants=(Grant("*", "system_admin"),))
    return Actor(user_id=f"u-{role}", grants=(Grant(agency, role, services),))


def _application(agency: str = OWN, applicant: str = APPLICANT_ID, state: str = "submitted") -> dict:
    return {"id": "app-1", "agency": agency, "service": SERVICE, "state": state, "closed": False,
            "applicant": applicant}


def test_the_table_covers_every_action_of_the_policy():  # R: A-X1
    assert set(ACTION_ROLES) <= set(ACTIONS), "a new policy action needs a row in the table"
    assert {a for a, _ in OTHER_TABLE} == set(ACTIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_own_agency(action, role):  # R: A-X1
    assert allowed(_actor(role), action, _application()) is OWN_TABLE[action, role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_other_agency(action, role):  # R: CH-4 — officers never act on another agency's work
    application = _application(agency=OTHER, applicant="u-somebody-else")
    assert allowed(_actor(role), action, application) is OTHER_TABLE[action, role]


@pytest.mark.parametrize("role", ROLES[:7])
@pytest.mark.parametrize("action", ACTIONS)
def test_role_limited_to_another_service(action, role):  # R: A-X1 — a role held for some services only
    actor = _actor(role, services=(OTHER_SERVICE,))
    application = _application(applicant="u-somebody-else")
    assert allowed(actor, action, application) is False
    # … but the same limited role covers its own service exactly as the full role does
    own_service = dict(application, service=OTHER_SERVICE)
    expected = OWN_TABLE[action, role] and action not in ("view_own", "edit_draft", "submit", "withdraw")
    assert allowed(actor, action, own_service) is expected


@pytest.mark.parametrize("role", ROLES[:7])
def test_agency_level_questions(role):  # the inbox and reports pages ask about the agency, not a record
    actor = _actor(role)
    for action in ("view_inbox", "view_reports", "manage_staff", "assign", "approve_disposal"):
        assert allowed(actor, action, agency=OWN) is OWN_TABLE[action, role]
        assert allowed(actor, action, agency=OTHER) is False
    # a role limited to some services still opens the agency's inbox (rows are then filtered)
    limited = _actor(role, services=(OTHER_SERVICE,))
    assert allowed(limited, "view_inbox", agency=OWN) is True
    assert allowed(limited, "view_inbox", agency=OWN, service=SERVICE) is False


@pytest.mark.parametrize("role", ROLES)
def test_drafts_belong_to_the_applicant_alone(role):  # R: A-X1
    draft = _application(state="draft")
    for action in ACTIONS:
        expected = role == "applicant" and action in ("view_own", "edit_draft", "submit", "withdraw",
                                                      "view_application")
        if role == "system_admin" and action in ("view_audit", "manage_agencies"):
            expected = True
        assert allowed(_actor(role), action, draft) is expected, action


def test_unknown_action_is_refused_to_everyone_but_the_system():
    for role in ROLES:
        assert allowed(_actor(role), "delete_everything", _application()) is False
    assert allowed(SYSTEM, "delete_everything", _application()) is True


def test_system_actor_cannot_act_as_the_applicant():
    for action in ("view_own", "edit_draft", "submit", "withdraw"):
        assert allowed(SYSTEM, action, _application()) is False


# --- transitions name their own roles ------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_may_take_a_transition_for_reviewers(role):  # R: A-A4, A-X1
    expected = role == "reviewer"
    assert may_take(_actor(role), _application(), ("reviewer",)) is expected
    assert may_take(_actor(role), _application(agency=OTHER), ("reviewer",)) is False
    assert may_take(_actor(role, services=(OTHER_SERVICE,)), _application(), ("reviewer",)) is False


def test_may_take_applicant_and_system_transitions():
    application = _application()
    assert may_take(_actor("applicant"), application, ("applicant",)) is True
    assert may_take(Actor(user_id="u-stranger"), application, ("applicant",)) is False
    assert may_take(_actor("reviewer"), application, ("applicant",)) is False
    assert may_take(SYSTEM, application, ("system", "head_of_agency")) is True
    assert may_take(SYSTEM, application, ("head_of_agency",)) is False
    assert may_take(_actor("head_of_agency"), application, ("system",)) is False


# --- roles a service declares under `roles:` (issue #9 item 1) ------------------------
DECLARED_MAP = {OWN: {"engineer": (OTHER_SERVICE,)}}


def _declared_actor(services: tuple[str, ...] | None = None, agency: str = OWN) -> Actor:
    return Actor(user_id="u-engineer", grants=scope_declared((Grant(agency, "engineer", services),), DECLARED_MAP))


def test_a_declared_role_opens_the_inbox_and_applications_of_its_service_only():  # R: A-X1, CH-4
    engineer = _declared_actor()
    building = dict(_application(applicant="u-somebody-else"), service=OTHER_SERVICE)
    food = _application(applicant="u-somebody-else")
    assert allowed(engineer, "view_inbox", agency=OWN) is True
    assert allowed(engineer, "view_inbox", agency=OWN, service=OTHER_SERVICE) is True
    assert allowed(engineer, "view_inbox", agency=OWN, service=SERVICE) is False
    for action in ("view_application", "claim"):
        assert allowed(engineer, action, building) is True, action
        assert allowed(engineer, action, food) is False, action
    for action in ("assign", "refer", "approve_disposal", "view_reports", "verify_payment", "sign",
                   "manage_staff", "change_licence_status", "view_audit", "manage_agencies"):
        assert allowed(engineer, action, building) is False, action
    assert allowed(engineer, "view_application", dict(building, state="draft")) is False
    assert may_take(engineer, building, ("engineer",)) is True
    assert may_take(engineer, food, ("engineer",)) is False


def test_a_declared_role_in_another_agency_or_undeclared_gives_nothing():  # R: CH-4
    elsewhere = _declared_actor(agency=OTHER)
    assert allowed(elsewhere, "view_inbox", agency=OTHER) is False
    assert allowed(elsewhere, "view_inbox", agency=OWN) is False
    undeclared = Actor(user_id="u-x", grants=scope_declared((Grant(OWN, "gardener"),), DECLARED_MAP))
    assert allowed(undeclared, "view_inbox", agency=OWN) is False
    assert allowed(undeclared, "view_application", _application(applicant="u-other")) is False
    # a grant limited to a service that does not declare the role stays powerless
    wrong = _declared_actor(services=(SERVICE,))
    assert allowed(wrong, "view_inbox", agency=OWN) is False


def test_one_person_may_hold_many_roles():  # R: A-X1 — the mayor signs and approves disposals
    mayor = Actor(user_id="u-mayor", grants=(Grant(OWN, "head_of_agency"), Grant(OWN, "signing_authority")))
    application = _application(applicant="u-other")
    for action in ("sign", "approve_disposal", "change_licence_status", "view_reports", "claim", "assign"):
        assert allowed(mayor, action, application) is True, action
    assert may_take(mayor, application, ("signing_authority",)) is True
    assert may_take(mayor, application, ("head_of_agency",)) is True
    assert allowed(mayor, "manage_staff", agency=OWN) is False


def test_system_administrator_manages_staff_of_every_agency():  # R: A-X1
    admin = _actor("system_admin")
    assert allowed(admin, "manage_staff", agency=OWN) is True
    assert allowed(admin, "manage_staff", agency=OTHER) is True
    assert allowed(admin, "view_inbox", agency=OWN) is False
