"""What handlers need from the engine, built once per process, and who is asking.

Handlers call these instead of building services themselves:

* ``engine(request)`` — the :class:`EngineContext` (catalogue, store, files, clock, notifier);
* ``accounts(request)``, ``applications(request)``, ``workflow(request)``;
* ``current_user(request)`` / ``current_actor(request)`` — the signed-in person as a
  user record and as a policy :class:`Actor` (with IP and user agent for evidence);
* ``sign_in(request, user)`` / ``sign_out(request)`` (signing out ends every copy of
  the cookie: the user's ``session_generation`` is bumped, issue #17);
* ``landing_path(request, user)`` — where staff land after signing in;
* ``login_redirect(request)`` — the response that sends an anonymous visitor to sign in.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse

from ..applications import Applications
from ..auth import Accounts
from ..engine import EngineContext
from ..policy import Actor, Grant, allowed, declared_roles, scope_declared
from ..runtime import engine_of
from ..workflow import Workflow
from .context import get_context
from .security import rotate_csrf_token

SESSION_USER = "uid"
SESSION_EPOCH = "epoch"
SESSION_GENERATION = "gen"


def _cached(request: HTTPConnection, key: str, build) -> Any:
    ctx = get_context(request)
    found = ctx.extra.get(key)
    if found is None:
        found = ctx.extra[key] = build(ctx)
    return found


def engine(request: HTTPConnection) -> EngineContext:
    """The engine context, with the notifier and the document issuer (shared with the worker)."""
    return engine_of(get_context(request))


def accounts(request: HTTPConnection) -> Accounts:
    return _cached(request, "accounts", lambda ctx: Accounts(ctx.store, ctx.clock))


def applications(request: HTTPConnection) -> Applications:
    return _cached(request, "applications", lambda ctx: Applications(engine(request)))


def workflow(request: HTTPConnection) -> Workflow:
    return _cached(request, "workflow", lambda ctx: Workflow(engine(request)))


def service_roles(request: HTTPConnection) -> dict[str, dict[str, tuple[str, ...]]]:
    """The roles the current definitions declare (:func:`eservice.policy.declared_roles`),
    worked out again when the catalogue is replaced."""
    ctx = get_context(request)
    cached = ctx.extra.get("service_roles")
    if cached is None or cached[0] is not ctx.catalogue:
        cached = ctx.extra["service_roles"] = (ctx.catalogue, declared_roles(ctx.catalogue))
    return cached[1]


def client_ip(request: HTTPConnection) -> str:
    return request.client.host if request.client else ""


def current_user(request: HTTPConnection) -> dict | None:
    """The signed-in user, or None (also when the session was ended elsewhere)."""
    cached = request.scope.get("eservice.user", False)
    if cached is not False:
        return cached
    user = None
    user_id = request.session.get(SESSION_USER)
    if user_id:
        user = accounts(request).check_session(user_id, request.session.get(SESSION_EPOCH, 0),
                                               request.session.get(SESSION_GENERATION, 0))
        if user is None:
            request.session.pop(SESSION_USER, None)
    request.scope["eservice.user"] = user
    return user


def actor_for(user: dict | None, request: HTTPConnection) -> Actor:
    ip, agent = client_ip(request), request.headers.get("user-agent", "")[:300]
    if user is None:
        return Actor(user_id="", ip=ip, user_agent=agent)
    grants = scope_declared(tuple(Grant(g.agency, g.role, tuple(g.services) if g.services else None)
                                  for g in accounts(request).roles_of(user)), service_roles(request))
    profile = user.get("profile", {})
    name = " ".join(x for x in (profile.get("first_name"), profile.get("last_name")) if x) or user.get("email", "")
    return Actor(user_id=user["id"], grants=grants, ip=ip, user_agent=agent, name=name)


def current_actor(request: HTTPConnection) -> Actor:
    return actor_for(current_user(request), request)


def landing_path(request: HTTPConnection, user: dict) -> str | None:
    """Where a member of staff lands after signing in: the inbox when they have one,
    else the administration pages (issue #9); None when neither, so never a 403 page."""
    from starlette.routing import NoMatchFound

    actor = actor_for(dict(user), request)
    agencies = get_context(request).catalogue.agencies
    if any(allowed(actor, "view_inbox", agency=code) for code in agencies):
        name = "officer_home"
    elif actor.is_system_admin or any(allowed(actor, "manage_staff", agency=code) for code in agencies):
        name = "admin_home"
    elif any(allowed(actor, "edit_definition", agency=code) for code in agencies):
        name = "admin_services"  # a service editor and nothing else
    else:
        return None
    try:
        return str(request.app.url_path_for(name))
    except NoMatchFound:  # a trimmed app (tests) without that page
        return "/officer" if name == "officer_home" else None


def sign_in(request: HTTPConnection, user: dict) -> None:
    request.session.clear()
    request.session[SESSION_USER] = user["id"]
    request.session[SESSION_EPOCH] = user.get("session_epoch", 0)
    request.session[SESSION_GENERATION] = user.get("session_generation", 0)
    rotate_csrf_token(request)
    request.scope["eservice.user"] = user


def sign_out(request: HTTPConnection) -> None:
    """End the session: clear this cookie and, when someone is signed in, bump their
    session generation so that a copy of the old cookie is signed out as well
    (a signed cookie cannot be taken back otherwise).  Blocking (a store write)."""
    user = current_user(request)
    if user is not None:
        accounts(request).end_web_sessions(user["id"])
    request.session.clear()
    rotate_csrf_token(request)
    request.scope["eservice.user"] = None


def login_redirect(request: HTTPConnection) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
