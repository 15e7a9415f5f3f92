"""Running a service's workflow: transitions, guards, inputs, effects, timers
and the SLA clock (issue #4; A-R1…A-R6, A-A1…A-A6, PR-1, PR-2, PR-5, PR-13).

The states and transitions come from the definition; this module only knows
the rules every workflow shares:

* a transition is allowed to the roles it names, from the states it names,
  when its guard holds and every required input is given;
* the store's version check makes two officers acting at once safe: one wins,
  the other gets a conflict and sees the new state;
* entering a state marked ``sla: paused`` pauses the SLA clock until it is left;
* a state's timers are kept in a store collection so they survive restarts, and
  each fires once.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import events, forms, submission
from .dates import DateInputError, be_year, read_typed_date
from .engine import EngineContext, EngineError, ExprEnvironment
from .expr import ExpressionError
from .payments.due import due_on
from .policy import SYSTEM, Actor, allowed, may_take
from .store import ConflictError, NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from .spec.loader import CompiledService

TIMERS = "timers"
log = logging.getLogger(__name__)


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _typed_inputs(tr, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The officer's inputs as a guard sees them (the types in docs/service-definition.md,
    "Types in expressions"): numbers and money as decimals, dates as dates (A-SP3)."""
    kinds = {i.id: i.type for i in tr.inputs}
    out = dict(inputs)
    for key, value in inputs.items():
        try:
            if kinds.get(key) in ("number", "money") and isinstance(value, str):
                out[key] = Decimal(value)
            elif kinds.get(key) == "date" and isinstance(value, str):
                out[key] = dt.date.fromisoformat(value)
        except (ArithmeticError, ValueError):
            pass
    return out


class Workflow:
    def __init__(self, ctx: EngineContext):
        self.ctx = ctx

    # -- what may happen now ------------------------------------------------------
    def bindings(self, record: Mapping[str, Any], service: CompiledService, inputs: Mapping[str, Any] | None = None):
        env = ExprEnvironment(self.ctx, record["agency"])
        ev = forms.Evaluation(service, record.get("answers", {}), env)
        fees = record.get("fees", [])
        extra = {
            "input": dict(inputs or {}),
            "paid": all(f.get("status") == "paid" for f in fees) if fees else True,
            "state": record.get("state"),
            "documents": {k: bool(v) for k, v in record.get("documents", {}).items()},
        }
        return ev, extra

    def available(self, record: Mapping[str, Any], actor: Actor) -> list:
        """Transitions this actor may take now (guards that need inputs are
        checked again when the inputs arrive)."""
        if record.get("state") in (None, "draft") or record.get("closed"):
            return []
        service = self.ctx.service_of(record)
        ev, extra = self.bindings(record, service)
        found = []
        for tr in service.definition.workflow.transitions:
            if record["state"] not in tr.from_ or not may_take(actor, record, tr.roles):
                continue
            if tr.guard and "input" not in service.expr(tr.guard).names and not ev.holds(tr.guard, extra):
                continue
            found.append(tr)
        return found

    # -- taking a transition ---------------------------------------------------------
    def take(self, app_id: str, transition_id: str, actor: Actor, inputs: Mapping[str, Any] | None = None,
             expected_version: int | None = None) -> dict[str, Any]:
        """Take a transition; raise EngineError (refused) or ConflictError (stale)."""
        try:
            record = self.ctx.store.get_application(app_id)
        except (NotFoundError, ValueError):
            raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404) from None
        if expected_version is not None and record["version"] != expected_version:
            raise ConflictError(app_id, expected_version, record["version"])
        service = self.ctx.service_of(record)
        tr = service.transitions.get(transition_id)
        if tr is None:
            raise EngineError("no_transition", "ไม่มีการดำเนินการนี้", "no such action", status=404)
        if not actor.is_system and not actor.is_officer and record.get("applicant") != actor.user_id:
            raise EngineError("not_found", "ไม่พบคำขอนี้", "application not found", status=404)
        if actor.is_officer and not actor.is_system and not actor.belongs_to(record["agency"]) \
                and record.get("applicant") != actor.user_id:
            raise EngineError("wrong_agency", "คำขอนี้เป็นของหน่วยงานอื่น",
                              "this application belongs to another agency", status=403)
        if record["state"] not in tr.from_:
            state = service.states.get(record["state"])
            raise EngineError("wrong_state",
                              f"ทำรายการนี้ไม่ได้ในสถานะ “{state.title.th if state else record['state']}”",
                              f"this action is not possible in state "
                              f"“{state.title.get('en') if state else record['state']}”", status=409,
                              state=record["state"])
        if not may_take(actor, record, tr.roles):
            raise EngineError("forbidden", "คุณไม่มีสิทธิ์ทำรายการนี้", "you may not take this action", status=403)
        if not actor.is_system and any(e.kind == "sign_licence" for e in tr.effects) \
                and not allowed(actor, "sign", record):  # a licence is signed by a signing authority (A-L4)
            raise EngineError("forbidden", "การลงนามใบอนุญาตต้องเป็นผู้มีอำนาจลงนาม",
                              "only a signing authority may sign a licence", status=403)
        clean_inputs = self._check_inputs(tr, inputs or {})
        deadline = _parse(record.get("deadline"))
        withdrawing = service.states[tr.to].outcome == "withdrawn"
        if "applicant" in tr.roles and not actor.is_officer and deadline and self.ctx.now() > deadline \
                and not withdrawing:
            raise EngineError("deadline_passed", "เลยกำหนดเวลาที่ให้ไว้แล้ว กรุณาติดต่อหน่วยงาน",
                              "the deadline has passed; contact the agency", status=409)
        signed = self._applicant_resubmission(record, service, actor, tr)
        ev, extra = self.bindings(record, service, _typed_inputs(tr, clean_inputs))
        if tr.guard and not ev.holds(tr.guard, extra):
            raise EngineError("guard", "ยังไม่เข้าเงื่อนไขของการดำเนินการนี้",
                              f"the condition of this action does not hold ({tr.guard})", status=409)
        return self._apply(record, service, tr, actor, clean_inputs, ev, signed)

    def _applicant_resubmission(self, record: dict, service: CompiledService, actor: Actor, tr) -> str | None:
        """When the applicant sends their application on after they could change
        it (a state where they may edit, or content that differs from what they
        signed), check it all again and renew the signature evidence (A-F6, A-F8).
        Leaving for a final state (withdrawing) needs neither."""
        if actor.is_system or record.get("applicant") != actor.user_id or "applicant" not in tr.roles:
            return None
        if service.states[tr.to].final:
            return None
        state = service.states.get(record["state"])
        unchanged = submission.signed_digest(record) == submission.submission_digest(record)
        if not (state and state.editable_by_applicant) and unchanged:
            return None
        record["answers"] = forms.clean(service, record.get("answers", {}), ExprEnvironment(self.ctx, record["agency"]))
        submission.drop_inapplicable_documents(self.ctx, record)
        field_errors, missing = submission.problems(self.ctx, record)
        if field_errors or missing:
            raise EngineError("invalid", "คำขอยังไม่ครบถ้วน กรุณาแก้ไขรายการที่แจ้งก่อนส่ง",
                              "the application is not complete; correct the listed items before sending",
                              errors=[e.as_dict() for e in field_errors] + missing)
        return submission.resign(self.ctx, record, actor)

    def _check_inputs(self, tr, inputs: Mapping[str, Any]) -> dict[str, Any]:
        declared = {i.id: i for i in tr.inputs}
        unknown = sorted(set(inputs) - declared.keys())
        if unknown:
            raise EngineError("unknown_input", "มีข้อมูลที่ไม่ได้ขอ: " + ", ".join(unknown),
                              "unexpected inputs: " + ", ".join(unknown))
        clean: dict[str, Any] = {}
        missing = []
        for spec in tr.inputs:
            value = inputs.get(spec.id)
            if isinstance(value, str):
                value = forms.normalise_newlines(value).strip()
            if value in (None, "", []):
                if spec.required:
                    missing.append(spec)
                continue
            if isinstance(value, str) and spec.type in ("text", "long_text"):
                self._check_text(spec, value)
            if spec.type == "date":  # typed as the Thai date widget sends it (issue #10 item 6)
                try:
                    day = read_typed_date(str(value))
                except DateInputError as exc:
                    raise EngineError("input_date", f"“{spec.label.th}”: {exc.th}",
                                      f"“{spec.label.get('en')}”: {exc.en}", input=spec.id) from None
                if "deadline" in spec.id and day < self.ctx.today():
                    raise EngineError("input_past", f"“{spec.label.th}” ต้องไม่เป็นวันที่ผ่านมาแล้ว",
                                      f"“{spec.label.get('en')}” must not be in the past", input=spec.id)
                limit = getattr(spec, "max_days_ahead", None)
                if limit is not None and day > self.ctx.today() + dt.timedelta(days=limit):
                    raise EngineError("input_too_far", f"“{spec.label.th}” ต้องไม่เกิน {limit} วันนับจากวันนี้",
                                      f"“{spec.label.get('en')}” must be at most {limit} days from today",
                                      input=spec.id)
                value = day.isoformat()
            elif spec.type in ("number", "money"):
                try:
                    value = str(Decimal(str(value)))
                except Exception:
                    raise EngineError("input_number", f"“{spec.label.th}” ต้องเป็นตัวเลข",
                                      f"“{spec.label.get('en')}” must be a number", input=spec.id) from None
            elif spec.type in ("choice", "checklist"):
                allowed = {o.value for o in spec.options}
                values = value if isinstance(value, list) else [value]
                if allowed and any(v not in allowed for v in values):
                    raise EngineError("input_choice", f"กรุณาเลือก “{spec.label.th}” จากรายการ",
                                      f"choose “{spec.label.get('en')}” from the list", input=spec.id)
            elif spec.type == "yes_no":
                value = value in (True, "yes", "true", "1", "on")
            clean[spec.id] = value
        if missing:
            names_th = ", ".join(f"“{s.label.th}”" for s in missing)
            names_en = ", ".join(f"“{s.label.get('en')}”" for s in missing)
            raise EngineError("missing_input", f"กรุณากรอก {names_th}", f"enter {names_en}",
                              inputs=[s.id for s in missing])
        return clean

    @staticmethod
    def _check_text(spec, value: str) -> None:
        """A text input: at most forms.MAX_INPUT_TEXT characters, no control characters."""
        label_th, label_en = spec.label.th, spec.label.get("en")
        if len(value) > forms.MAX_INPUT_TEXT:
            raise EngineError("input_too_long",
                              f"“{label_th}” ยาวเกิน {forms.MAX_INPUT_TEXT:,} ตัวอักษร (พิมพ์มา {len(value):,}) "
                              f"กรุณาย่อข้อความแล้วส่งอีกครั้ง",
                              f"“{label_en}” must be {forms.MAX_INPUT_TEXT:,} characters or fewer "
                              f"({len(value):,} given); shorten it and send again", input=spec.id)
        if forms.has_control_characters(value, spec.type == "long_text"):
            raise EngineError("input_control_characters",
                              *forms.control_texts(label_th, label_en, spec.type == "long_text"), input=spec.id)

    def _apply(self, record: dict, service: CompiledService, tr, actor: Actor, inputs: dict, ev,
               signed: str | None = None) -> dict:
        now = self.ctx.now()
        stamp = now.isoformat()
        before = record["state"]
        after = service.states[tr.to]
        self._move_sla(record, service, before, tr.to, now)
        record["state"] = tr.to
        record["state_entered_at"] = stamp
        record["closed"] = after.final
        record["outcome"] = after.outcome if after.final else None
        if after.final:
            record["closed_at"] = stamp
        record["updated_at"] = stamp
        record["changed"] = "applicant" in tr.roles and not actor.is_officer
        record.pop("deadline", None)
        for spec in tr.inputs:
            if spec.type == "date" and spec.id in inputs and "deadline" in spec.id:
                local_end = self.ctx.calendar(record["agency"]).closing(dt.date.fromisoformat(inputs[spec.id]))
                record["deadline"] = local_end.isoformat()
        if "missing" in {i.id for i in tr.inputs} or any(i.type == "checklist" for i in tr.inputs):
            record["requested"] = {k: v for k, v in inputs.items()}
        data = {"transition": tr.id, "from": before, "to": tr.to, "inputs": inputs, "ip": actor.ip}
        if signed:
            data.update(content_sha256=signed, user_agent=actor.user_agent)
        event = events.append(record["events"], "transition", actor.user_id, stamp, data)
        notifications = []
        issued: list = []  # documents signed by this transition (eservice.outputs.Issued)
        for effect in tr.effects:
            result = self._effect(record, service, effect, actor, stamp, ev, inputs, issued)
            if effect.kind == "notify":
                notifications.append(effect.target)
            if result:
                events.append(record["events"], f"effect:{effect.kind}", actor.user_id, stamp, result)
        if any(e.kind == "issue_fee" for e in tr.effects):  # "fee issued" (eservice.payments, A-P1)
            from .payments.notice import notice_issued

            notice_issued(self.ctx, record, service, actor, stamp, inputs, issued)
        saved = self.ctx.store.update_application(record, record["version"])
        self._schedule_timers(saved, service, after, now, event["seq"])
        if issued or any(e.kind == "publish" for e in tr.effects):  # once saved: /verify's index, the register
            from .register import after_transition

            after_transition(self.ctx, saved, service, tr, issued, ev.values)
        if self.ctx.notifier is not None:
            extra: dict[str, Any] = {"inputs": inputs, "transition": tr.id}
            if issued:  # the documents go with the step's mail (IS-3, A-D2)
                extra["attachments"] = [doc.attachment for doc in issued]
            if tr.guard and "paid" in service.expr(tr.guard).names:  # the receipt goes with it (PR-12)
                from .payments.receipts import receipt_attachments

                extra["attachments"] = list(extra.get("attachments") or []) + receipt_attachments(self.ctx, saved)
            for name in notifications:
                self.ctx.notifier(saved, name, service, extra)
        return saved

    # -- SLA ------------------------------------------------------------------------
    def _move_sla(self, record: dict, service: CompiledService, before: str, after: str, now: dt.datetime) -> None:
        pauses = record.setdefault("sla_paused", [])
        was_paused = service.states[before].sla == "paused" if before in service.states else False
        pausing = service.states[after].sla == "paused"
        if was_paused and not pausing and pauses and pauses[-1][1] is None:
            pauses[-1][1] = now.isoformat()
        if pausing and not was_paused:
            pauses.append([now.isoformat(), None])
        if record.get("intake_at") and service.definition.sla.working_days:
            record["sla_due"] = self.sla_due(record, service, now).isoformat()

    def sla_due(self, record: Mapping[str, Any], service: CompiledService, now: dt.datetime | None = None) -> dt.datetime:
        calendar = self.ctx.calendar(record["agency"])
        pauses = [(_parse(a), _parse(b)) for a, b in record.get("sla_paused", [])]
        return calendar.due_at(_parse(record["intake_at"]), service.definition.sla.working_days,
                               paused=pauses, now=now or self.ctx.now())

    def sla_status(self, record: Mapping[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
        """Working time used and left, and whether to warn (A-A6)."""
        now = now or self.ctx.now()
        service = self.ctx.service_of(record)
        if not record.get("intake_at") or not service.definition.sla.working_days:
            return {"due": None, "state": "none"}
        due = self.sla_due(record, service, now)
        calendar = self.ctx.calendar(record["agency"])
        pauses = [(_parse(a), _parse(b)) for a, b in record.get("sla_paused", [])]
        paused = bool(pauses and pauses[-1][1] is None)
        if record.get("closed"):
            return {"due": due, "state": "closed", "paused": False}
        if now > due:
            return {"due": due, "state": "overdue", "paused": paused}
        left_days = calendar.working_days_between(calendar.to_local(now).date(), calendar.to_local(due).date())
        warn = left_days <= service.definition.sla.warn_when_left_working_days
        return {"due": due, "state": "warning" if warn else "ok", "paused": paused, "left_days": left_days}

    # -- effects --------------------------------------------------------------------
    def _outputs(self):
        """The document issuer (eservice.outputs); without one nothing can be issued."""
        if self.ctx.outputs is None:
            raise EngineError("outputs_unavailable",
                              "ระบบนี้ยังไม่ได้ตั้งค่าการออกเอกสาร จึงยังไม่ได้บันทึกการดำเนินการนี้",
                              "this installation cannot issue documents (no outputs configured); "
                              "nothing was recorded", status=503)
        return self.ctx.outputs

    def _effect(self, record: dict, service: CompiledService, effect, actor: Actor, stamp: str, ev,
                inputs: Mapping[str, Any], issued: list) -> dict | None:
        kind, target = effect.kind, effect.target
        if kind == "notify":
            return None
        if kind == "issue_fee":
            fee = next(f for f in service.definition.fees if f.id == target)
            if not ev.holds(fee.when):
                return {"fee": fee.id, "skipped": "condition false"}
            try:
                amount = ev.money(fee.amount)
            except ExpressionError as exc:
                raise EngineError(
                    "fee_amount", f"คำนวณค่าธรรมเนียม “{fee.title.th}” ไม่ได้: {exc.th}",
                    f"the fee “{fee.title.get('en')}” cannot be computed: {exc.en}", status=409) from None
            calendar = self.ctx.calendar(record["agency"])  # calendar or working days (A-P8)
            due = due_on(calendar, calendar.to_local(self.ctx.now()).date(), fee)
            item = {"id": fee.id, "title": {"th": fee.title.th, "en": fee.title.get("en")},
                    "amount": str(amount), "issued_at": stamp, "due_on": due.isoformat(),
                    "methods": list(fee.methods), "status": "paid" if amount == 0 else "unpaid"}
            record.setdefault("fees", [])
            record["fees"] = [f for f in record["fees"] if f["id"] != fee.id] + [item]
            return {"fee": fee.id, "amount": item["amount"], "due_on": item["due_on"]}
        if kind in ("draft_licence", "sign_licence", "publish"):
            licences = record.setdefault("licences", {})
            item = licences.setdefault(target, {"id": target, "status": "none"})
            if kind == "draft_licence":  # A-L1, A-L2: the officer's data for the draft is kept with it
                item.update(status="draft", drafted_at=stamp, inputs=dict(inputs))
            elif kind == "sign_licence":  # A-L4, A-L5: numbered, rendered, signed, stored
                outputs = self._outputs()
                outputs.ready(record["agency"])  # no key, no number taken
                calendar = self.ctx.calendar(record["agency"])
                local = calendar.to_local(self.ctx.now())
                licence = next(x for x in service.definition.outputs.licences if x.id == target)
                seq = self.ctx.store.next_number(f"licence:{record['agency']}:{service.id}:{target}:{local.year}")
                number = licence.number_pattern.format(
                    agency=record["agency"], service=service.id, be_year=be_year(local.year),
                    year=local.year, seq=seq)
                doc = outputs.issue_licence(record, service, licence, actor, inputs, ev.values, number,
                                            item.get("inputs"))
                issued.append(doc)
                item.update(status="signed", number=number, signed_at=stamp, signed_by=actor.user_id, **doc.record())
                return {"licence": target, "status": "signed", "number": number, **doc.event()}
            else:
                item.update(published=True, published_at=stamp)
            return {"licence": target, "status": item["status"], "number": item.get("number")}
        if kind == "issue_letter":  # IS-1: a signed letter or notice
            letter = next(x for x in service.definition.outputs.letters if x.id == target)
            doc = self._outputs().issue_letter(record, service, letter, actor, inputs, ev.values)
            issued.append(doc)
            record.setdefault("letters", []).append({"id": target, "issued_at": stamp, **doc.record()})
            return {"letter": target, **doc.event()}
        return None

    # -- timers ---------------------------------------------------------------------
    def schedule_timers(self, record: Mapping[str, Any], service: CompiledService, state_id: str, now: dt.datetime,
                        seq: int) -> None:
        """Start the timers of the state an application just entered."""
        self._schedule_timers(record, service, service.states[state_id], now, seq)

    def _schedule_timers(self, record: Mapping[str, Any], service: CompiledService, state, now: dt.datetime, seq: int) -> None:
        if not state.timers:
            return
        calendar = self.ctx.calendar(record["agency"])
        timers = self.ctx.store.collection(TIMERS)
        for timer in state.timers:
            after = timer.after
            if after.working_days:
                local = calendar.to_local(now)
                day = calendar.add_working_days(local.date(), after.working_days)
                due = calendar.closing(day)
            elif after.days:
                due = now + dt.timedelta(days=after.days)
            else:
                due = now + dt.timedelta(hours=after.hours)
            key = f"{record['id']}:{seq}:{timer.transition}"
            timers.put(key, {"application": record["id"], "state": state.id, "entered_seq": seq,
                             "transition": timer.transition, "due_at": due.astimezone(dt.timezone.utc).isoformat()})

    def fire_due_timers(self, now: dt.datetime | None = None) -> list[str]:
        """Take every timer transition that is due (after a restart too), once."""
        now = now or self.ctx.now()
        timers = self.ctx.store.collection(TIMERS)
        fired = []
        for timer in list(timers.all()):
            if _parse(timer["due_at"]) > now:
                continue
            key = f"{timer['application']}:{timer['entered_seq']}:{timer['transition']}"
            try:
                record = self.ctx.store.get_application(timer["application"])
                still_there = record["state"] == timer["state"] and not record.get("closed") and any(
                    e["seq"] == timer["entered_seq"] and e["type"] in ("transition", "submitted")
                    for e in record["events"]) \
                    and self._entered_by(record, timer["entered_seq"])
                if still_there:
                    self.take(record["id"], timer["transition"], SYSTEM, {}, expected_version=record["version"])
                    fired.append(key)
            except (ConflictError, NotFoundError):
                pass  # someone acted first, or the application is gone
            except EngineError as exc:
                if exc.status == 503:  # a document could not be signed yet (keys, time stamps): next round
                    log.warning("timer %s waits: %s", key, exc.en)
                    continue
                if exc.code not in ("not_found", "no_transition", "wrong_state", "guard", "forbidden"):
                    log.error("timer %s refused: %s", key, exc.en)
                    self._record_timer_failure(timer, key, exc.en)
            except Exception:  # one broken timer must never block the others
                log.exception("timer %s failed; it is dropped", key)
                self._record_timer_failure(timer, key, "unexpected error (see the log)")
            timers.delete(key)
        return fired

    def _record_timer_failure(self, timer: Mapping[str, Any], key: str, reason: str) -> None:
        """Keep a failed timer where officers can see it (nothing is lost silently)."""
        try:
            self.ctx.store.collection("timer_failures").put(
                key, dict(timer, failed_at=self.ctx.now_iso(), reason=reason))
        except ConflictError:
            pass

    @staticmethod
    def _entered_by(record: Mapping[str, Any], seq: int) -> bool:
        """True when no later transition happened since the event ``seq``."""
        return not any(e["type"] == "transition" and e["seq"] > seq for e in record["events"])
