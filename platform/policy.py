"""Who may do what: every authorisation decision of the platform, in one place.

Handlers never decide access themselves; they ask :func:`allowed` (A-X1).  A
role is held per agency and may be limited to some services; an officer of one
agency never sees another agency's applications (CH-4).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

OFFICER_ROLES = (
    "registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer",
    "head_of_agency", "agency_admin",
)
SYSTEM_ADMIN = "system_admin"

# Actions on an agency's work and the roles that may take them (besides a
# workflow transition, which names its own roles in the definition).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "view_inbox": frozenset(OFFICER_ROLES),
    "view_application": frozenset(OFFICER_ROLES),
    "claim": frozenset({"registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer"}),
    "assign": frozenset({"registry_clerk", "head_of_agency", "agency_admin"}),
    "refer": frozenset({"registry_clerk", "head_of_agency"}),
    "approve_disposal": frozenset({"head_of_agency"}),
    "view_reports": frozenset({"head_of_agency", "agency_admin", "approver"}),
    "verify_payment": frozenset({"finance_officer"}),
    "sign": frozenset({"signing_authority"}),
    "manage_staff": frozenset({"agency_admin"}),
    # suspend, reinstate or revoke a licence in the public register (PL-1, PL-4; eservice.web.register)
    "change_licence_status": frozenset({"signing_authority", "head_of_agency"}),
    # sign and publish the head's announcement or order adopting the e-Service (CH-2; eservice.web.announcements)
    "publish_announcement": frozenset({"head_of_agency"}),
}


@dataclass(frozen=True)
class Grant:
    agency: str
    role: str
    services: tuple[str, ...] | None = None  # None: every service of the agency

    def covers(self, agency: str, service: str | None) -> bool:
        if self.agency not in ("*", agency):  # "*": every agency (as in auth.RoleGrant)
            return False
        return self.services is None or service is None or service in self.services


@dataclass(frozen=True)
class Actor:
    """The person (or the system) acting, with what a request tells about them."""

    user_id: str
    grants: tuple[Grant, ...] = ()
    is_system: bool = False
    ip: str = ""
    user_agent: str = ""
    name: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_system_admin(self) -> bool:
        return any(g.role == SYSTEM_ADMIN for g in self.grants)

    def roles_for(self, agency: str, service: str | None = None) -> set[str]:
        return {g.role for g in self.grants if g.covers(agency, service)}

    @property
    def agencies(self) -> set[str]:
        return {g.agency for g in self.grants}

    def belongs_to(self, agency: str) -> bool:
        return any(g.agency in ("*", agency) for g in self.grants)

    @property
    def is_officer(self) -> bool:
        return bool(self.grants)


SYSTEM = Actor(user_id="system", is_system=True, name="ระบบ / system")


def is_owner(actor: Actor, application: Mapping[str, Any]) -> bool:
    return bool(actor.user_id) and application.get("applicant") == actor.user_id


def allowed(actor: Actor, action: str, application: Mapping[str, Any] | None = None,
            agency: str | None = None, service: str | None = None) -> bool:
    """May ``actor`` take ``action`` on ``application`` (or on an agency/service)?"""
    if application is not None:
        agency = application.get("agency")
        service = application.get("service")
    if action in ("view_own", "edit_draft", "submit", "withdraw"):
        return application is not None and is_owner(actor, application)
    if actor.is_system:
        return True
    if action == "view_application" and application is not None and is_owner(actor, application):
        return True
    if action in ("view_audit", "manage_agencies"):
        return actor.is_system_admin
    roles = ACTION_ROLES.get(action)
    if roles is None or agency is None:
        return False
    if application is not None and application.get("state") == "draft":
        return False  # drafts belong to the applicant alone
    return bool(actor.roles_for(agency, service) & roles)


def may_take(actor: Actor, application: Mapping[str, Any], roles: tuple[str, ...]) -> bool:
    """May ``actor`` take a transition that names ``roles`` in the definition?"""
    if actor.is_system:
        return "system" in roles
    if "applicant" in roles and is_owner(actor, application):
        return True
    held = actor.roles_for(application["agency"], application["service"])
    return bool(held & set(roles))
