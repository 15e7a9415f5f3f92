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
SERVICE_EDITOR = "service_editor"  # edits and publishes the agency's definitions (issue #9 item 4)
BUILTIN_ROLES = (*OFFICER_ROLES, SERVICE_EDITOR, SYSTEM_ADMIN)
# In ACTION_ROLES: "a role the application's service declares under ``roles:``" (``engineer``).
# Such a grant is marked ``declared`` by :func:`scope_declared`, limited to the declaring services.
DECLARED = "*declared"

# Actions on an agency's work and the roles that may take them (besides a
# workflow transition, which names its own roles in the definition).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "view_inbox": frozenset({*OFFICER_ROLES, DECLARED}),
    "view_application": frozenset({*OFFICER_ROLES, DECLARED}),
    "claim": frozenset({"registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer", DECLARED}),
    "assign": frozenset({"registry_clerk", "head_of_agency", "agency_admin"}),
    "refer": frozenset({"registry_clerk", "head_of_agency"}),
    "approve_disposal": frozenset({"head_of_agency"}),
    "view_reports": frozenset({"head_of_agency", "agency_admin", "approver"}),
    "verify_payment": frozenset({"finance_officer"}),
    "reconcile_payments": frozenset({"finance_officer", "head_of_agency"}),  # A-P6 daily reconciliation
    "sign": frozenset({"signing_authority"}),
    "manage_staff": frozenset({"agency_admin"}),  # and the system administrator, in every agency
    # suspend, reinstate or revoke a licence in the public register (PL-1, PL-4; eservice.web.register)
    "change_licence_status": frozenset({"signing_authority", "head_of_agency"}),
    # definitions through the web (eservice.publishing, web/admin/services.py): one editor
    # prepares, another editor or the agency admin approves
    "edit_definition": frozenset({SERVICE_EDITOR}),
    "approve_definition": frozenset({SERVICE_EDITOR, "agency_admin"}),
    # sign and publish the head's announcement or order adopting the e-Service (CH-2; eservice.web.announcements)
    "publish_announcement": frozenset({"head_of_agency"}),
}


@dataclass(frozen=True)
class Grant:
    agency: str
    role: str
    services: tuple[str, ...] | None = None  # None: every service of the agency
    declared: bool = False  # a role the services in ``services`` declare (see scope_declared)

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


def is_referral_receiver(actor: Actor, application: Mapping[str, Any]) -> bool:
    """An officer of the agency (on this installation) the application was referred to (RC-2)."""
    to = (application.get("referral") or {}).get("referred_to_agency") or ""
    return bool(to) and bool(actor.roles_for(to, None) & set(OFFICER_ROLES))


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
    if action == "view_application" and application is not None and is_referral_receiver(actor, application):
        return True  # RC-2: the agency it was referred to reads it (and nothing more)
    if action in ("view_audit", "manage_agencies"):
        return actor.is_system_admin
    if action == "manage_staff" and application is None and agency is not None and actor.is_system_admin:
        return True  # the system administrator may manage the staff of every agency
    roles = ACTION_ROLES.get(action)
    if roles is None or agency is None:
        return False
    if application is not None and application.get("state") == "draft":
        return False  # drafts belong to the applicant alone
    if actor.roles_for(agency, service) & roles:
        return True
    return DECLARED in roles and any(g.declared and g.covers(agency, service) for g in actor.grants)


def declared_roles(catalogue: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    """``{agency: {role: (service ids that declare it, ...)}}`` from the current
    definitions' ``roles:`` (built-in role ids are never "declared")."""
    out: dict[str, dict[str, set[str]]] = {}
    for code in getattr(catalogue, "agencies", {}):
        for service in catalogue.of_agency(code):
            for decl in service.definition.roles:
                if decl.id not in BUILTIN_ROLES:
                    out.setdefault(code, {}).setdefault(decl.id, set()).add(service.id)
    return {a: {r: tuple(sorted(s)) for r, s in roles.items()} for a, roles in out.items()}


def scope_declared(grants: tuple[Grant, ...], declared: Mapping[str, Mapping[str, tuple[str, ...]]]
                   ) -> tuple[Grant, ...]:
    """Mark the grants of service-declared roles and limit them to the services that
    declare the role (also when the grant names no service).  A grant of a role no
    service of its agency declares stays as it is, with no officer powers of its own."""
    out = []
    for g in grants:
        services = declared.get(g.agency, {}).get(g.role) if g.role not in BUILTIN_ROLES else None
        if services:
            scoped = services if g.services is None else tuple(s for s in g.services if s in services)
            if scoped:
                g = Grant(g.agency, g.role, scoped, declared=True)
        out.append(g)
    return tuple(out)


def may_take(actor: Actor, application: Mapping[str, Any], roles: tuple[str, ...]) -> bool:
    """May ``actor`` take a transition that names ``roles`` in the definition?"""
    if actor.is_system:
        return "system" in roles
    if "applicant" in roles and is_owner(actor, application):
        return True
    held = actor.roles_for(application["agency"], application["service"])
    return bool(held & set(roles))
