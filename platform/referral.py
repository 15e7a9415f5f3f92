"""Ending a matter without a decision on it: referral to the right agency (RC-2)
and disposal (จำหน่ายเรื่อง, PR-2, A-R6).

Both are status changes only — nothing is deleted.  Both go through the store's
version check (two officers at once: one wins, the other gets ConflictError) and
append a hash-linked event to the application's history.

* :func:`refer` — a request sent to the wrong agency is answered with the name
  of the correct one.  When the service's definition has a ``referred`` state
  (id ``referred`` or ``outcome: referred``) the application moves into it;
  otherwise it keeps its state.  Either way it is closed with outcome
  ``referred`` and a ``referred`` event names the agency, and the applicant is
  notified (``ctx.notifier(record, "referred", service, {"referred_to": name, …})``).

* :func:`dispose` — the head of agency approves a disposal.  When the definition
  has a transition from the current state to a state with ``outcome: disposed``
  it is taken (as the head when the head may take it, else as the system *on the
  head's approval*: the event still names the head); otherwise the application is
  closed by :func:`close_application` with outcome ``disposed``.

* :func:`disposal_candidates` — the applications to put before the head of
  agency: waiting in a state whose only officer action is disposal (the
  definition proposes it, e.g. after a timer), waiting for the applicant past
  the deadline they were given, or whose applicant cannot be reached — the
  outbox shows mail to them refused permanently for at least
  :data:`UNREACHABLE_DAYS` days (PR-2: keep the matter 30 days, then end it
  with the head's approval).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import events
from .engine import EngineContext, EngineError
from .policy import Actor, allowed, may_take
from .store import ConflictError, NotFoundError
from .workflow import Workflow

if TYPE_CHECKING:  # pragma: no cover
    from .spec.loader import CompiledService

__all__ = ["UNREACHABLE_DAYS", "close_application", "refer", "dispose", "disposal_candidates",
           "referred_state", "disposed_state", "disposal_transition", "is_proposal_state",
           "unreachable_since", "disposal_reasons", "referred_here", "unreachable_applications", "MAX_NOTE"]

UNREACHABLE_DAYS = 30
MAX_TEXT = 1000
MAX_NOTE = 2000  # a longer referral note is refused with a clear error, never cut
MAX_NAME = 300
MAX_CONTACT = 300
REFERRALS = "referrals"  # application id → where it was referred (the receiving agency's inbox)


def _parse(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _load(ctx: EngineContext, app_id: str) -> dict[str, Any]:
    try:
        return ctx.store.get_application(app_id)
    except (NotFoundError, ValueError):
        raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404) from None


def _check(actor: Actor, action: str, record: Mapping[str, Any]) -> None:
    if not allowed(actor, "view_application", record):
        raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)
    if not allowed(actor, action, record):
        raise EngineError("forbidden", "คุณไม่มีสิทธิ์ทำรายการนี้", "you may not take this action", status=403)


def _open(record: Mapping[str, Any]) -> None:
    if record.get("closed"):
        raise EngineError("closed", "คำขอนี้สิ้นสุดแล้ว", "this application is already closed", status=409)
    if record.get("state") in (None, "draft"):
        raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)


def _text(value: Any, label_th: str, label_en: str, *, required: bool, input_id: str) -> str:
    text = _limited(value, MAX_TEXT, label_th, label_en, input_id)  # longer: refused, never cut
    if required and not text:
        raise EngineError("missing_input", f"กรุณากรอก “{label_th}”", f"enter “{label_en}”", inputs=[input_id])
    return text


# ------------------------------------------------------------------ closing
def close_application(ctx: EngineContext, app_id: str, actor: Actor, *, outcome: str, event_type: str,
                      data: Mapping[str, Any] | None = None, expected_version: int | None = None,
                      state: str | None = None, notification: str | None = None,
                      extra: Mapping[str, Any] | None = None,
                      fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Close an open application with ``outcome``, appending one ``event_type`` event.

    ``state``: move into this state as well (it must be one of the definition's);
    None keeps the current state.  A running SLA pause ends now.  Raises
    ConflictError when ``expected_version`` is stale or another write wins the race.
    No authorisation here: callers check the policy first.
    """
    record = _load(ctx, app_id)
    if expected_version is not None and record["version"] != expected_version:
        raise ConflictError(app_id, expected_version, record["version"])
    _open(record)
    stamp = ctx.now_iso()
    before = record["state"]
    pauses = record.get("sla_paused") or []
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = stamp
    if state is not None:
        record["state"] = state
        record["state_entered_at"] = stamp
    record.update(closed=True, outcome=outcome, closed_at=stamp, updated_at=stamp, changed=False)
    record.update(fields or {})
    record.pop("deadline", None)
    events.append(record["events"], event_type, actor.user_id, stamp,
                  {"from": before, "to": record["state"], "outcome": outcome, **dict(data or {}), "ip": actor.ip})
    saved = ctx.store.update_application(record, record["version"])
    if ctx.notifier is not None and notification:
        try:
            service = ctx.service_of(saved)
        except EngineError:
            service = None
        ctx.notifier(saved, notification, service, dict(extra or {}))
    return saved


def referred_state(service: CompiledService) -> Any | None:
    """The definition's ``referred`` state (by id, else by outcome), or None."""
    states = service.definition.workflow.states
    return next((s for s in states if s.id == "referred"), None) or \
        next((s for s in states if s.outcome == "referred"), None)


def disposed_state(service: CompiledService) -> Any | None:
    states = service.definition.workflow.states
    return next((s for s in states if s.final and s.outcome == "disposed"), None) or \
        next((s for s in states if s.id == "disposed"), None)


# ------------------------------------------------------------------ referral (RC-2)
def _limited(value: Any, limit: int, label_th: str, label_en: str, input_id: str) -> str:
    """The text with runs of white space made one; longer than ``limit``: refused, not cut."""
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise EngineError("too_long", f"“{label_th}” ยาวเกิน {limit:,} ตัวอักษร (ขณะนี้ {len(text):,}) กรุณาย่อให้สั้นลง",
                          f"“{label_en}” is longer than {limit:,} characters ({len(text):,}); shorten it",
                          inputs=[input_id])
    return text


def refer(ctx: EngineContext, app_id: str, actor: Actor, *, agency_name: str = "", agency_code: str = "",
          contact: str = "", note: str = "", expected_version: int | None = None) -> dict[str, Any]:
    """Answer a request sent to the wrong agency with the name of the right one (RC-2).

    Any service can be referred.  The applicant is told where and whom to
    contact: an agency on this installation gives its phone and e-mail (unless
    ``contact`` is typed), another agency needs ``contact``.  The referral
    letter (the definition's ``referral_letter``, else the platform's) is
    rendered and signed through ``ctx.outputs`` before anything is saved (no
    outputs configured: no letter); the notice (``notifications.referred``, else
    the platform's) goes with the letter attached.  The application keeps
    ``referral`` and a ``referrals`` entry lets the receiving agency see it."""
    record = _load(ctx, app_id)
    _check(actor, "refer", record)
    _open(record)
    code = (agency_code or "").strip()
    contact = _limited(contact, MAX_CONTACT, "ช่องทางติดต่อหน่วยงาน", "how to contact the agency", "contact")
    if code:
        agency = ctx.catalogue.agencies.get(code)
        if agency is None:
            raise EngineError("input_choice", "กรุณาเลือกหน่วยงานจากรายการ", "choose the agency from the list",
                              input="referred_to_agency")
        if code == record["agency"]:
            raise EngineError("same_agency", "คำขอนี้อยู่ที่หน่วยงานนี้อยู่แล้ว กรุณาระบุหน่วยงานอื่น",
                              "this is already the agency of the application; name another one",
                              input="referred_to_agency")
        if not (agency_name or "").strip():
            agency_name = agency.name.th
        if not contact:
            contact = " · ".join(x for x in (f"โทร. / tel. {agency.phone}" if agency.phone else "",
                                             agency.email or "") if x)
    name = _limited(agency_name, MAX_NAME, "หน่วยงานที่รับผิดชอบ", "the responsible agency", "referred_to")
    name = _text(name, "หน่วยงานที่รับผิดชอบ", "the responsible agency", required=True, input_id="referred_to")
    if not contact:
        raise EngineError("missing_input", "กรุณากรอกช่องทางติดต่อหน่วยงานที่รับผิดชอบ (โทรศัพท์หรืออีเมล)",
                          "enter how to contact the responsible agency (phone or e-mail)", inputs=["contact"])
    note = _limited(note, MAX_NOTE, "หมายเหตุ", "note", "note")
    service = ctx.service_of(record)
    target = referred_state(service)
    details = {"referred_to": name, "referred_to_agency": code or None, "contact": contact, "note": note}
    letter_data: dict[str, Any] = {}
    attachments = []
    letter_item = None
    if ctx.outputs is not None:  # IS-1: signed like every letter, before anything is saved
        from .outputs.referral_letter import letter_for

        letter, _declared = letter_for(service)
        inputs = {"referred_to": name, "referred_to_agency": code, "contact": contact, "note": note}
        values = _calculations(service, record)
        doc = ctx.outputs.issue_letter(record, service, letter, actor, inputs, values)
        letter_item = {"id": letter.id, "issued_at": ctx.now_iso(), **doc.record()}
        letter_data = {"letter": letter.id, **doc.event()}
        attachments.append(doc.attachment)
    extra_fields = {"referral": {**details, "at": ctx.now_iso(), "by": actor.user_id, "from": record["agency"]}}
    if letter_item is not None:
        extra_fields["letters"] = [*(record.get("letters") or []), letter_item]
    saved = close_application(ctx, app_id, actor, outcome="referred", event_type="referred",
                              data={**details, **letter_data}, expected_version=expected_version,
                              state=target.id if target else None, fields=extra_fields)
    if letter_item is not None:
        _index_letter(ctx, saved, service, doc)
    if code:
        ctx.store.collection(REFERRALS).put(saved["id"], {
            "application": saved["id"], "to": code, "from": saved["agency"], "service": saved["service"],
            "service_version": saved.get("service_version"), "reference": saved.get("reference"),
            "intake_number": saved.get("intake_number"), "note": note, "contact": contact,
            "referred_to": name, "at": saved["referral"]["at"], "by": actor.user_id})
    if ctx.notifier is not None:
        ctx.notifier(saved, "referred", service, {**details, "referral": {
            "to": name, "agency": code, "contact": contact, "note": note}, "attachments": attachments})
    return saved


def _calculations(service: CompiledService, record: Mapping[str, Any]) -> Mapping[str, Any]:
    from . import forms

    try:
        return forms.Evaluation(service, record.get("answers") or {}).values
    except Exception:  # a letter needs no calculation it cannot have
        return {}


def _index_letter(ctx: EngineContext, saved: Mapping[str, Any], service: CompiledService, doc: Any) -> None:
    """/verify finds the letter by its id and SHA-256 (PR-8), as for every issued document."""
    try:
        from .register import Register

        Register(ctx.store, ctx.catalogue, ctx.clock).index_issued(saved, service, [doc])
    except Exception:  # the referral is saved; say loudly that /verify missed the letter
        import logging

        logging.getLogger(__name__).exception("referral letter of %s not indexed for /verify", saved.get("id"))


def referred_here(ctx: EngineContext, agency: str) -> list[dict[str, Any]]:
    """Applications referred *to* ``agency`` from another agency of this
    installation, newest first (the receiving agency's inbox, RC-2)."""
    rows = ctx.store.collection(REFERRALS).find(to=agency)
    return sorted(rows, key=lambda r: str(r.get("at") or ""), reverse=True)


# ------------------------------------------------------------------ disposal (PR-2, A-R6)
def disposal_transition(service: CompiledService, record: Mapping[str, Any], actor: Actor) -> tuple[Any, bool] | None:
    """``(transition, as_head)`` of the definition's way to a disposed state from
    the current state: one the actor may take (``as_head``), else one the
    system may take; only transitions whose required inputs are all text
    (the disposal reason fills them).  None when there is none."""
    states = service.states
    found_system = None
    for tr in service.definition.workflow.transitions:
        target = states.get(tr.to)
        if record.get("state") not in tr.from_ or target is None or not target.final \
                or target.outcome != "disposed":
            continue
        if any(i.required and i.type not in ("text", "long_text") for i in tr.inputs):
            continue
        if may_take(actor, record, tr.roles):
            return tr, True
        if "system" in tr.roles and found_system is None:
            found_system = tr
    return (found_system, False) if found_system is not None else None


def dispose(ctx: EngineContext, app_id: str, actor: Actor, *, reason: str,
            expected_version: int | None = None) -> dict[str, Any]:
    """The head of agency approves disposing of an application (PR-2, A-R6)."""
    record = _load(ctx, app_id)
    _check(actor, "approve_disposal", record)
    _open(record)
    reason = _text(reason, "เหตุผลการจำหน่ายเรื่อง", "the reason for disposal", required=True,
                   input_id="reason")
    service = ctx.service_of(record)
    found = disposal_transition(service, record, actor)
    if found is not None:
        tr, as_head = found
        acting = actor if as_head else Actor(
            user_id=actor.user_id, grants=actor.grants, is_system=True, ip=actor.ip,
            user_agent=actor.user_agent, name=actor.name, extra={"on_approval_of": actor.user_id})
        inputs = {i.id: reason for i in tr.inputs if i.type in ("text", "long_text")}
        return Workflow(ctx).take(app_id, tr.id, acting, inputs, expected_version=expected_version)
    target = disposed_state(service)
    return close_application(ctx, app_id, actor, outcome="disposed", event_type="disposed",
                             data={"reason": reason, "approved_by": actor.user_id},
                             expected_version=expected_version, state=target.id if target else None,
                             notification="disposed", extra={"reason": reason})


def is_proposal_state(service: CompiledService, state_id: str) -> bool:
    """A state whose only officer actions lead to a disposed state, and that no
    timer of its own will dispose of: the definition puts the matter before the
    head of agency (e.g. ``disposal_proposed``, entered by a timer)."""
    states = service.states
    state = states.get(state_id)
    if state is None or state.final:
        return False
    transitions = service.transitions
    for timer in state.timers:
        tr = transitions.get(timer.transition)
        if tr is not None and tr.to in states and states[tr.to].outcome == "disposed":
            return False  # the system disposes of it when the time comes
    officer = [tr for tr in service.definition.workflow.transitions
               if state_id in tr.from_ and set(tr.roles) - {"applicant", "system"}]
    return bool(officer) and all(states[tr.to].outcome == "disposed" for tr in officer if tr.to in states)


def _waits_for_applicant(service: CompiledService, state_id: str) -> bool:
    state = service.states.get(state_id)
    if state is None:
        return False
    return state.sla == "paused" or any(state_id in tr.from_ and "applicant" in tr.roles
                                        for tr in service.definition.workflow.transitions)


def unreachable_since(outbox: Iterable[Mapping[str, Any]]) -> dict[str, dt.datetime]:
    """``{address: first refusal}`` for every address whose mail has been refused
    permanently since then with no successful delivery after (PR-2).  A refusal
    is a permanent failure at submission (``failed``) or a permanent bounce
    reported later by a delivery-status notification (``bounced``,
    :mod:`eservice.bounces`); a message accepted later and not bounced ends the
    run.  Temporary failures neither start nor end a run."""
    since: dict[str, dt.datetime] = {}
    for item in sorted(outbox, key=lambda r: str(r.get("id") or r.get("at") or "")):
        at = _parse(item.get("at"))
        for address in (a.strip().lower() for a in item.get("to") or ()):
            if item.get("status") == "sent":
                since.pop(address, None)
                continue
            error = item.get("error") or {}
            refused = {k.strip().lower() for k in error.get("refused") or {}}
            if item.get("status") in ("failed", "bounced") and error.get("permanent") \
                    and (not refused or address in refused) and at is not None:
                since.setdefault(address, at)
    return since


def unreachable_applications(store: Any, summaries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{application id: {"address", "since", "reason"}}`` for the applications
    whose applicant cannot be reached by e-mail now (PR-2; shown to officers)."""
    outbox = list(store.collection("outbox").all())
    since = unreachable_since(outbox)
    if not since:
        return {}
    last: dict[str, str] = {}
    for item in sorted(outbox, key=lambda r: str(r.get("id") or "")):
        error = item.get("error") or {}
        if item.get("status") in ("failed", "bounced") and error.get("permanent"):
            for address in item.get("to") or ():
                reason = error.get("dsn_status") or error.get("smtp_code") or ""
                last[address.strip().lower()] = f"{reason} {error.get('diagnostic') or ''}".strip()
    users = store.collection("users")
    out = {}
    for summary in summaries:
        user = users.get(summary["applicant"]) if summary.get("applicant") else None
        address = str((user or {}).get("email") or "").strip().lower()
        if address and address in since:
            out[summary["id"]] = {"address": address, "since": since[address], "reason": last.get(address, "")}
    return out


def disposal_reasons(ctx: EngineContext, summary: Mapping[str, Any], service: CompiledService, now: dt.datetime, *,
                     unreachable: Mapping[str, dt.datetime] | None = None,
                     record: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], Any]:
    """Why one open application should go before the head of agency (empty: it
    should not), and its full record when it had to be read.  ``unreachable``
    is :func:`unreachable_since` of the outbox (read once by the caller)."""
    if summary.get("state") in (None, "draft") or summary.get("closed") or not summary.get("intake_at"):
        return [], record
    state = summary["state"]
    reasons: list[dict[str, Any]] = []
    if is_proposal_state(service, state):
        record = record or ctx.store.get_application(summary["id"])
        reasons.append({"code": "proposed", "since": _parse(record.get("state_entered_at"))})
    if _waits_for_applicant(service, state):
        record = record or ctx.store.get_application(summary["id"])
        deadline = _parse(record.get("deadline"))
        if deadline is not None and deadline < now:
            reasons.append({"code": "deadline", "since": deadline})
    if unreachable and summary.get("applicant"):
        user = ctx.store.collection("users").get(summary["applicant"])
        address = str((user or {}).get("email") or "").strip().lower()
        first = unreachable.get(address) if address else None
        if first is not None and now - first >= dt.timedelta(days=UNREACHABLE_DAYS):
            reasons.append({"code": "unreachable", "since": first, "address": address})
    return reasons, record


def disposal_candidates(ctx: EngineContext, agency: str, now: dt.datetime | None = None, *,
                        actor: Actor | None = None, only: str | None = None) -> list[dict[str, Any]]:
    """Open applications of ``agency`` to propose for disposal, oldest reason first:
    ``{"summary", "record", "service", "reasons": [{"code", "since"}]}``.
    With ``actor``, only applications the actor may view; with ``only``, only
    that application id."""
    now = now or ctx.now()
    unreachable = unreachable_since(ctx.store.collection("outbox").all())
    out = []
    for summary in ctx.store.open_applications(agency):
        if only is not None and summary.get("id") != only:
            continue
        if actor is not None and not allowed(actor, "view_application", summary):
            continue
        service = ctx.catalogue.get(summary["service"], summary.get("service_version"))
        if service is None:
            continue
        reasons, record = disposal_reasons(ctx, summary, service, now, unreachable=unreachable)
        if reasons:
            record = record or ctx.store.get_application(summary["id"])
            out.append({"summary": summary, "record": record, "service": service, "reasons": reasons})
    out.sort(key=lambda c: (min((r["since"] for r in c["reasons"] if r["since"]), default=now),
                            c["summary"]["id"]))
    return out
