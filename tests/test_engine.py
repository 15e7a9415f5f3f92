"""The engine core on a real on-disk store: drafts, hidden-means-not-applicable,
signature evidence, submission with the RC-4 intake rule, and every workflow rule
(wrong role, wrong agency, guard false, stale version, missing input, deadline
passed, timers after a restart)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from eservice.applications import Applications, declaration_of, submission_digest
from eservice.clock import BANGKOK, FixedClock
from eservice.engine import EngineContext, EngineError
from eservice.events import verify_chain
from eservice.policy import Actor, Grant
from eservice.spec.loader import load_or_raise
from eservice.store import ConflictError, open_store
from eservice.workflow import Workflow

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
MORE_FIXTURES = Path(__file__).parent / "fixtures" / "engine"  # services only the engine tests use
SUNDAY_EVENING = dt.datetime(2023, 1, 22, 21, 33, tzinfo=BANGKOK)
CITIZEN = Actor(user_id="u-citizen", name="สมชาย ใจดี", ip="203.0.113.9", user_agent="pytest")
OTHER = Actor(user_id="u-other")
REVIEWER = Actor(user_id="u-reviewer", grants=(Grant("test-agency", "reviewer"),))
APPROVER = Actor(user_id="u-approver", grants=(Grant("test-agency", "approver"),))
FOREIGN_APPROVER = Actor(user_id="u-foreign", grants=(Grant("other-agency", "approver"),))


class Sent(list):
    def __call__(self, application, notification, service, extra):
        self.append((application["id"], notification))


@pytest.fixture
def ctx(tmp_path):
    catalogue = load_or_raise([FIXTURES, MORE_FIXTURES])
    clock = FixedClock(SUNDAY_EVENING.astimezone(dt.timezone.utc))
    return EngineContext(catalogue=catalogue, store=open_store(tmp_path / "data"), clock=clock,
                         notifier=Sent())


def submitted(ctx, answers=None):
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    record, errors = apps.save_page(record["id"], CITIZEN, "shop",
                                    answers or {"shop_name": "ร้านป้าแดง", "shop_area": 250})
    assert errors == []
    service = ctx.catalogue.latest("minimal-permit")
    return apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)


# --- drafts and the form --------------------------------------------------------
def test_page_errors_keep_what_was_typed(ctx):  # R: A-F5, A-F6
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    record, errors = apps.save_page(record["id"], CITIZEN, "shop", {"shop_area": -5})
    codes = {(e.field, e.code) for e in errors}
    assert ("shop_name", "required") in codes and ("shop_area", "rule") in codes
    rule = next(e for e in errors if e.code == "rule")
    assert rule.th == "พื้นที่ต้องมากกว่าศูนย์" and rule.en == "The area must be above zero"
    again = ctx.store.get_application(record["id"])
    assert again["answers"]["shop_area"] == -5  # kept so the page can show it again


def test_hidden_fields_are_cleared(ctx):  # R: A-SP3 (hidden means not applicable)
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    record, _ = apps.save_page(record["id"], CITIZEN, "shop", {
        "shop_name": "ร้าน", "shop_area": 10, "has_kitchen": False, "kitchen_size": 99})
    assert "kitchen_size" not in record["answers"]
    record, _ = apps.save_page(record["id"], CITIZEN, "shop", {
        "shop_name": "ร้าน", "shop_area": 10, "has_kitchen": True, "kitchen_size": 12})
    assert record["answers"]["kitchen_size"] == 12


def test_fields_of_another_page_are_refused(ctx):
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    with pytest.raises(EngineError) as refused:
        apps.save_page(record["id"], CITIZEN, "shop", {"shop_name": "x", "is_admin": True})
    assert refused.value.code == "unknown_fields" and "is_admin" in refused.value.en
    assert ctx.store.get_application(record["id"])["answers"] == {}


def test_draft_of_another_user_is_not_found(ctx):
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    for call in (lambda: apps.get(record["id"], OTHER),
                 lambda: apps.save_page(record["id"], OTHER, "shop", {"shop_name": "x"})):
        with pytest.raises(EngineError) as refused:
            call()
        assert refused.value.status == 404
    with pytest.raises(EngineError):
        apps.get(record["id"], REVIEWER)  # officers do not see drafts either


def test_stale_draft_save_is_a_conflict(ctx):
    apps = Applications(ctx)
    record = apps.start("minimal-permit", CITIZEN)
    apps.save_page(record["id"], CITIZEN, "shop", {"shop_name": "a"}, expected_version=record["version"])
    with pytest.raises(ConflictError):
        apps.save_page(record["id"], CITIZEN, "shop", {"shop_name": "b"}, expected_version=record["version"])


# --- signing and submission ---------------------------------------------------------
def test_submission_registers_intake_by_rc4_and_signs(ctx):  # R: RC-4, A-F8, A-F9, RC-1
    record = submitted(ctx)
    intake = dt.datetime.fromisoformat(record["intake_at"]).astimezone(BANGKOK)
    assert intake == dt.datetime(2023, 1, 23, 8, 30, tzinfo=BANGKOK)
    assert record["intake_number"] == "1/2566"
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", record["reference"])
    assert record["state"] == "submitted"
    sig = record["signature"]
    assert sig["declaration"]["th"].startswith("ข้าพเจ้าขอรับรอง")
    assert sig["ip"] == "203.0.113.9" and sig["user_agent"] == "pytest" and sig["signer"] == "u-citizen"
    # the signed digest, computed here independently: SHA-256 of the canonical JSON of
    # what the applicant saw (answers + document hashes), pinned to the definition
    import hashlib
    import json
    content = {"service": "minimal-permit", "service_version": 1, "service_digest": record["service_digest"],
               "answers": {"shop_name": "ร้านป้าแดง", "shop_area": 250}, "documents": {}}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert sig["content_sha256"] == hashlib.sha256(canonical).hexdigest()
    assert ctx.notifier == [(record["id"], "submitted")]
    second = submitted(ctx)
    assert second["intake_number"] == "2/2566"


def test_changed_byte_breaks_the_signature_evidence(ctx):  # R: A-F8
    record = submitted(ctx)
    apps = Applications(ctx)
    assert apps.verify_signature(record)
    record["answers"]["shop_area"] = 251
    assert not apps.verify_signature(record)
    record = ctx.store.get_application(record["id"])
    record["events"][0]["data"]["digest"] = "0" * 64
    assert verify_chain(record["events"])


def test_submit_refuses_changed_declaration_missing_intent_and_incomplete(ctx):
    apps = Applications(ctx)
    service = ctx.catalogue.latest("minimal-permit")
    record = apps.start("minimal-permit", CITIZEN)
    with pytest.raises(EngineError) as refused:
        apps.submit(record["id"], CITIZEN, declaration_shown={"th": "อื่น", "en": "other"}, intent_confirmed=True)
    assert refused.value.code == "declaration_changed"
    with pytest.raises(EngineError) as refused:
        apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=False)
    assert refused.value.code == "intent"
    with pytest.raises(EngineError) as refused:
        apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    assert refused.value.code == "invalid"
    assert {e["field"] for e in refused.value.details["errors"]} >= {"shop_name", "shop_area"}
    assert ctx.store.get_application(record["id"])["state"] == "draft"


# --- workflow ------------------------------------------------------------------------
def test_wrong_role_wrong_agency_and_applicant(ctx):  # R: A-X1, CH-4
    record = submitted(ctx)
    flow = Workflow(ctx)
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "approve", REVIEWER)
    assert refused.value.code == "forbidden"
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "approve", FOREIGN_APPROVER)
    assert refused.value.code == "wrong_agency"
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "approve", CITIZEN)
    assert refused.value.code == "forbidden"
    assert [t.id for t in flow.available(record, APPROVER)] == ["approve"]
    assert [t.id for t in flow.available(record, REVIEWER)] == ["request_documents"]
    assert flow.available(record, FOREIGN_APPROVER) == []


def test_missing_input_and_past_deadline_are_refused(ctx):  # R: PR-1
    record = submitted(ctx)
    flow = Workflow(ctx)
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "request_documents", REVIEWER, {})
    assert refused.value.code == "missing_input" and refused.value.details["inputs"] == ["missing"]
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "request_documents", REVIEWER, {"missing": "x", "deadline": "2020-01-01"})
    assert refused.value.code == "input_past"
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "request_documents", REVIEWER, {"missing": "x", "sneaky": 1})
    assert refused.value.code == "unknown_input"
    assert ctx.store.get_application(record["id"])["state"] == "submitted"


def test_guard_false_is_refused(ctx):  # R: A-A4
    record = submitted(ctx)
    record = ctx.store.get_application(record["id"])
    record["answers"]["shop_area"] = 0
    ctx.store.update_application(record, record["version"])
    with pytest.raises(EngineError) as refused:
        Workflow(ctx).take(record["id"], "approve", APPROVER)
    assert refused.value.code == "guard"


def test_two_officers_at_once_one_wins(ctx):  # R: A-R3
    record = submitted(ctx)
    flow = Workflow(ctx)
    flow.take(record["id"], "approve", APPROVER, expected_version=record["version"])
    with pytest.raises(ConflictError) as conflict:
        flow.take(record["id"], "request_documents", REVIEWER, {"missing": "x"},
                  expected_version=record["version"])
    assert "reload" in conflict.value.en and conflict.value.th
    assert ctx.store.get_application(record["id"])["state"] == "approved"


def test_more_documents_loop_pauses_sla_and_marks_changed(ctx):  # R: PR-1, PR-5, A-R1, A-R3, A-R4
    record = submitted(ctx)
    flow = Workflow(ctx)
    due_before = dt.datetime.fromisoformat(record["sla_due"])
    ctx.clock.set(dt.datetime(2023, 1, 24, 9, 0, tzinfo=BANGKOK))
    record = flow.take(record["id"], "request_documents", REVIEWER,
                       {"missing": "สำเนาบัตรประชาชนไม่ชัด", "deadline": "2023-02-10"})
    assert record["state"] == "awaiting_documents" and record["sla_paused"][-1][1] is None
    assert record["requested"]["missing"] == "สำเนาบัตรประชาชนไม่ชัด"
    assert (record["id"], "documents_requested") in ctx.notifier
    ctx.clock.set(dt.datetime(2023, 1, 31, 9, 0, tzinfo=BANGKOK))  # a week waiting for the applicant
    record = flow.take(record["id"], "resubmit", CITIZEN)
    assert record["state"] == "submitted" and record["changed"] is True
    assert record["sla_paused"][-1][1] is not None
    due_after = dt.datetime.fromisoformat(record["sla_due"])
    # intake Mon 23 Jan 08:30, 15 working days → Fri 10 Feb 16:30; five working days paused
    # (Tue 24 Jan 09:00 → Tue 31 Jan 09:00) move it to Fri 17 Feb 16:30
    assert due_before == dt.datetime(2023, 2, 10, 16, 30, tzinfo=BANGKOK)
    assert due_after == dt.datetime(2023, 2, 17, 16, 30, tzinfo=BANGKOK)
    assert verify_chain(record["events"]) == []


def test_applicant_after_the_deadline_is_refused(ctx):
    record = submitted(ctx)
    flow = Workflow(ctx)
    flow.take(record["id"], "request_documents", REVIEWER, {"missing": "x", "deadline": "2023-01-30"})
    ctx.clock.set(dt.datetime(2023, 1, 31, 9, 0, tzinfo=BANGKOK))
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "resubmit", CITIZEN)
    assert refused.value.code == "deadline_passed"


def test_approval_issues_the_computed_fee(ctx):  # R: A-P1
    record = submitted(ctx)
    record = Workflow(ctx).take(record["id"], "approve", APPROVER)
    assert record["closed"] is True and record["outcome"] == "approved"
    assert record["fees"][0]["amount"] == "1000.00"  # area 250 m² > 200
    assert record["licences"]["permit"]["status"] == "draft"
    assert ctx.store.open_applications("test-agency") == []


def test_timer_fires_after_a_restart_once(ctx, tmp_path):  # R: PR-2, A-R6
    record = submitted(ctx)
    Workflow(ctx).take(record["id"], "request_documents", REVIEWER, {"missing": "x"})
    # the server goes down; 31 days later a new process starts on the same data
    clock = FixedClock(ctx.clock.now() + dt.timedelta(days=31))
    restarted = EngineContext(catalogue=ctx.catalogue, store=open_store(tmp_path / "data"), clock=clock)
    fired = Workflow(restarted).fire_due_timers()
    assert len(fired) == 1
    after = restarted.store.get_application(record["id"])
    assert after["state"] == "disposed" and after["closed"] is True
    assert Workflow(restarted).fire_due_timers() == []
    assert [e["data"].get("transition") for e in after["events"] if e["type"] == "transition"] == [
        "request_documents", "dispose"]


def test_timer_not_due_or_state_left_does_not_fire(ctx):
    record = submitted(ctx)
    flow = Workflow(ctx)
    flow.take(record["id"], "request_documents", REVIEWER, {"missing": "x"})
    assert flow.fire_due_timers() == []  # not due yet
    flow.take(record["id"], "resubmit", CITIZEN)
    assert flow.fire_due_timers(ctx.clock.now() + dt.timedelta(days=40)) == []
    assert ctx.store.get_application(record["id"])["state"] == "submitted"


# --- found in review: groups, numbers, conditional documents, changes after submission ---------
STALL = {"stall_name": "แผงผลไม้", "stall_width": 3, "sells_food": False}


def stall_draft(ctx, answers=None):
    apps = Applications(ctx)
    record = apps.start("market-stall", CITIZEN)
    record, errors = apps.save_page(record["id"], CITIZEN, "stall", answers or STALL)
    return apps, record, errors


def test_group_item_rules_and_conditions_see_typed_values(ctx):  # R: A-SP3
    goods = [{"item": "มะม่วง", "price": "150.00", "imported_on": "2023-01-02"},
             {"item": "กล้วย", "price": "0.00", "imported_on": "2023-01-03"}]
    apps, record, errors = stall_draft(ctx, {**STALL, "goods": goods})
    # money inside an item is compared as a number: 150 passes, 0 breaks the rule
    assert [(e.path, e.code) for e in errors] == [("goods[1].price", "rule")]
    # the date is kept where its condition (price > 100) holds, and cleared where it does not
    assert record["answers"]["goods"][0]["imported_on"] == "2023-01-02"
    assert "imported_on" not in record["answers"]["goods"][1]


def test_number_answers_work_in_arithmetic_whether_typed_with_decimals_or_not(ctx):
    for width, fee in ((3, "300.00"), (3.5, "350.00")):
        apps, record, errors = stall_draft(ctx, {**STALL, "stall_width": width})
        assert errors == []
        service = ctx.catalogue.latest("market-stall")
        record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service),
                             intent_confirmed=True)
        record = Workflow(ctx).take(record["id"], "approve", Actor(
            user_id="u-a", grants=(Grant("test-agency", "approver"),)))
        assert record["fees"][0]["amount"] == fee


def test_fee_that_cannot_be_computed_is_a_clear_refusal(ctx):
    apps, record, _ = stall_draft(ctx)
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    stored = ctx.store.get_application(record["id"])
    stored["answers"]["stall_width"] = None  # data damaged after submission
    ctx.store.update_application(stored, stored["version"])
    with pytest.raises(EngineError) as refused:
        Workflow(ctx).take(record["id"], "approve", Actor(user_id="u-a", grants=(Grant("test-agency", "approver"),)))
    assert refused.value.code == "fee_amount" and refused.value.status == 409
    assert ctx.store.get_application(record["id"])["state"] == "submitted"


def test_documents_of_hidden_conditions_are_not_submitted(ctx):  # R: A-F6 (hidden means not applicable)
    apps, record, _ = stall_draft(ctx, {**STALL, "sells_food": True})
    record = apps.attach(record["id"], CITIZEN, "food_permit", {
        "sha256": "a" * 64, "filename": "permit.pdf", "media_type": "application/pdf", "size": 10})
    record, _ = apps.save_page(record["id"], CITIZEN, "stall", {**STALL, "sells_food": False})
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    assert record["documents"] == {}
    assert apps.verify_signature(record)


def test_forged_answers_with_a_forged_signature_field_are_detected(ctx):  # R: A-F8
    apps, record, _ = stall_draft(ctx)
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    forged = ctx.store.get_application(record["id"])
    forged["answers"]["stall_width"] = 1
    from eservice.applications import submission_digest as digest_of
    forged["signature"]["content_sha256"] = digest_of(forged)  # the attacker fixes the plain field too
    assert not apps.verify_signature(forged)


def test_changes_after_submission_are_checked_recorded_and_signed_again(ctx):  # R: A-F8, PR-5
    apps, record, _ = stall_draft(ctx)
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    flow = Workflow(ctx)
    flow.take(record["id"], "ask_changes", REVIEWER)
    # the applicant blanks a required answer: recorded, and sending is refused
    record, errors = apps.save_page(record["id"], CITIZEN, "stall", {**STALL, "stall_name": ""})
    assert [e.code for e in errors] == ["required"]
    assert record["events"][-1]["type"] == "answers_changed"
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "send_changes", CITIZEN)
    assert refused.value.code == "invalid"
    assert ctx.store.get_application(record["id"])["state"] == "needs_changes"
    # fixed: sending renews the signature evidence over the new content
    apps.save_page(record["id"], CITIZEN, "stall", {**STALL, "stall_name": "แผงผลไม้สด"})
    record = flow.take(record["id"], "send_changes", CITIZEN)
    assert record["state"] == "submitted"
    assert record["events"][-1]["data"]["content_sha256"] == record["signature"]["content_sha256"]
    assert apps.verify_signature(record)


def test_malformed_id_is_not_found_not_a_crash(ctx):
    with pytest.raises(EngineError) as refused:
        Applications(ctx).get("bad id/../x", CITIZEN)
    assert refused.value.status == 404
    with pytest.raises(EngineError) as refused:
        Workflow(ctx).take("bad id", "approve", APPROVER)
    assert refused.value.status == 404


def test_edited_definition_without_a_new_version_is_refused(ctx):  # versions are immutable
    record = submitted(ctx)
    stored = ctx.store.get_application(record["id"])
    stored["service_digest"] = "f" * 64  # as if the YAML had been edited after it started
    ctx.store.update_application(stored, stored["version"])
    with pytest.raises(EngineError) as refused:
        Workflow(ctx).take(record["id"], "approve", APPROVER)
    assert refused.value.code == "definition_changed" and "raise `version`" in refused.value.en


def test_role_held_in_every_agency():  # R: A-X1 (auth's "*" grants mean the same in policy)
    from eservice.policy import allowed
    anywhere = Actor(user_id="u-x", grants=(Grant("*", "reviewer"),))
    assert allowed(anywhere, "view_inbox", agency="test-agency")
    assert anywhere.belongs_to("any-agency")


def test_applicant_with_staff_roles_is_checked_and_withdrawal_needs_no_check(ctx):  # R: A-F8
    apps, record, _ = stall_draft(ctx)
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    flow = Workflow(ctx)
    flow.take(record["id"], "ask_changes", REVIEWER)
    apps.save_page(record["id"], CITIZEN, "stall", {**STALL, "stall_name": ""})
    staff_applicant = Actor(user_id=CITIZEN.user_id, grants=(Grant("other-agency", "reviewer"),))
    with pytest.raises(EngineError) as refused:
        flow.take(record["id"], "send_changes", staff_applicant)
    assert refused.value.code == "invalid"


def test_changes_sent_from_a_state_that_does_not_allow_editing_are_still_signed(ctx):
    apps, record, _ = stall_draft(ctx)
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    flow = Workflow(ctx)
    flow.take(record["id"], "ask_changes", REVIEWER)
    apps.save_page(record["id"], CITIZEN, "stall", {**STALL, "stall_name": "ชื่อใหม่"})
    record = flow.take(record["id"], "send_changes", CITIZEN)
    assert apps.verify_signature(record) and apps.signed_digest(record) == record["signature"]["content_sha256"]


def test_timer_refused_for_a_lasting_reason_is_recorded_not_lost(ctx, tmp_path):
    record = submitted(ctx)
    Workflow(ctx).take(record["id"], "request_documents", REVIEWER, {"missing": "x"})
    stored = ctx.store.get_application(record["id"])
    stored["service_digest"] = "e" * 64  # the definition was edited in place: the timer cannot run
    ctx.store.update_application(stored, stored["version"])
    later = ctx.clock.now() + dt.timedelta(days=31)
    assert Workflow(ctx).fire_due_timers(later) == []
    failures = list(ctx.store.collection("timer_failures").all())
    assert len(failures) == 1 and "raise `version`" in failures[0]["reason"]


def _catalogue_with(tmp_path, old: str | None, new: str = ""):
    """The fixture definitions copied, with the minimal permit edited (or removed when old is None)."""
    import shutil
    target = tmp_path / "edited"
    shutil.copytree(FIXTURES, target)
    permit = target / "test-agency" / "minimal.yaml"
    if old is None:
        permit.unlink()
    else:
        text = permit.read_text(encoding="utf-8")
        assert old in text
        permit.write_text(text.replace(old, new), encoding="utf-8")
    return load_or_raise([target])


def test_application_keeps_its_definition_when_the_yaml_is_edited_in_place(ctx, tmp_path):
    # versions are immutable: the text kept at the start wins over an in-place edit
    record = submitted(ctx)  # area 250 m² → 1000.00 under the original rule
    edited = _catalogue_with(tmp_path, '"shop_area > 200.0 ? 1000.0 : 500.0"', '"shop_area > 200.0 ? 9999.0 : 500.0"')
    assert edited.latest("minimal-permit").digest != record["service_digest"]
    later = EngineContext(catalogue=edited, store=ctx.store, clock=ctx.clock)
    approved = Workflow(later).take(record["id"], "approve", APPROVER)
    assert approved["fees"][0]["amount"] == "1000.00"
    # a new application uses the edited text
    fresh = submitted(later)
    assert fresh["service_digest"] == edited.latest("minimal-permit").digest


def test_application_of_a_version_no_longer_on_disk_still_runs(ctx, tmp_path):
    record = submitted(ctx)
    without = _catalogue_with(tmp_path, None)
    assert without.latest("minimal-permit") is None
    later = EngineContext(catalogue=without, store=ctx.store, clock=ctx.clock)
    assert Workflow(later).take(record["id"], "approve", APPROVER)["state"] == "approved"


def test_signature_state_tells_recorded_edits_from_tampering(ctx):  # R: A-F8
    apps, record, _ = stall_draft(ctx)
    service = ctx.catalogue.latest("market-stall")
    record = apps.submit(record["id"], CITIZEN, declaration_shown=declaration_of(service), intent_confirmed=True)
    assert apps.signature_state(record) == "intact"
    Workflow(ctx).take(record["id"], "ask_changes", REVIEWER)
    record, _ = apps.save_page(record["id"], CITIZEN, "stall", {**STALL, "stall_name": "แก้ไขแล้ว"})
    assert apps.signature_state(record) == "pending"
    tampered = ctx.store.get_application(record["id"])
    tampered["answers"]["stall_width"] = 99  # no event records this change
    tampered["events"] = [e for e in tampered["events"] if e["type"] != "answers_changed"]
    assert apps.signature_state(tampered) == "broken"
