"""``eservice simulate``: walk every service to every outcome (A-SP1…A-SP4, issue #10).

For each service, in a temporary data folder with a :class:`~eservice.clock.FixedClock`:

1. answers are generated from the field types and checked with the real form
   rules (:func:`eservice.forms.validate`); a value a rule refuses is replaced by
   the next candidate until the form is valid;
2. the application is saved page by page, its documents attached and it is
   signed and submitted through :class:`~eservice.applications.Applications`;
3. the workflow is explored breadth-first with the real engine
   (:class:`~eservice.workflow.Workflow`): in every state, every transition is
   tried by a person who holds one of its roles (the applicant for
   ``applicant``), with the inputs it asks for; a state's timers are fired by
   moving the clock to their due time; ``system`` moves only by timers and by
   the payment of a fee (the engine has no other source of system actions);
4. other answers (each option of a choice, yes and no, the other numbers a rule
   allows) are tried while some transition has not fired and they change what a
   guard or a fee's condition sees (until three in a row reach nothing new).

Without ``--out`` each document template is laid out once and that PDF reused
for later issues of the same output (each is still numbered, signed and
stored): the PDF layout, not the engine, is what costs time.

The report names every final outcome reached, every **dead end** (a state that
is not final and from which nobody, the system and its timers included, can move
on — with each refusal the engine gave), every state never reached and every
transition that never fired.  With ``--out`` every e-mail, fee notice and signed
document of one run per outcome is written to a folder a clerk can read.

Each application has its own time: the shared clock is set to that
application's time before anything is done to it, so a timer moved forward for
one path never makes another path's deadline pass.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import forms
from .clock import BANGKOK, FixedClock
from .engine import EngineContext, EngineError, ExprEnvironment
from .expr import ExpressionError
from .policy import SYSTEM, Actor, Grant
from .referral import refer, referred_state
from .sample_answers import APPLICANT_EMAIL, answer_variants, example_of, generate_answers, input_sets

__all__ = ["ServiceReport", "simulate_service", "simulate_paths", "format_report"]

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=BANGKOK)  # a Monday morning, a working day
MAX_VARIANTS = 40  # answer sets tried per service beyond the first
MAX_FRUITLESS = 3  # stop trying other answers after this many in a row found nothing new
# a minimal valid PDF for documents without a sample
_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


# ------------------------------------------------------------------ the report
@dataclass
class ServiceReport:
    """What one service's walk found (see the module)."""

    service: str
    file: str
    outcomes: dict[str, str] = field(default_factory=dict)  # final state -> outcome
    declared_finals: dict[str, str] = field(default_factory=dict)
    dead_ends: dict[str, list[str]] = field(default_factory=dict)  # state -> reasons (English)
    unreachable: list[str] = field(default_factory=list)
    never_fired: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the simulation itself could not run
    runs: int = 0
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)

    @property
    def missing_outcomes(self) -> list[str]:
        return [s for s in self.declared_finals if s not in self.outcomes]

    @property
    def ok(self) -> bool:
        return not self.dead_ends and not self.problems

    @property
    def complete(self) -> bool:
        """Every declared final outcome was reached and nothing stuck (``check --deep``)."""
        return self.ok and not self.missing_outcomes

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "file": self.file, "outcomes": self.outcomes,
                "missing_outcomes": self.missing_outcomes, "dead_ends": self.dead_ends,
                "unreachable_states": self.unreachable, "transitions_never_fired": self.never_fired,
                "problems": self.problems, "runs": self.runs, "seconds": round(self.seconds, 2),
                "written": self.written}


def format_report(report: ServiceReport) -> str:
    """The report in Thai and English, one finding a line."""
    lines = [f"{report.service}  ({report.file})  — {report.runs} runs, {report.seconds:.1f} s"]
    for state, outcome in report.outcomes.items():
        lines.append(f"  ผลลัพธ์ที่ไปถึง / outcome reached: {state} ({outcome})")
    for state in report.missing_outcomes:
        lines.append(f"  ผลลัพธ์ที่ไปไม่ถึง / outcome never reached: {state} ({report.declared_finals[state]})")
    for state, reasons in report.dead_ends.items():
        lines.append(f"  ทางตัน / DEAD END: {state} — ไม่มีผู้ใด (รวมระบบและตัวจับเวลา) ดำเนินการต่อได้ / "
                     f"nobody (system and timers included) can move on")
        lines.extend(f"      {reason}" for reason in reasons)
    for state in report.unreachable:
        lines.append(f"  สถานะที่ไปไม่ถึง / unreachable state: {state}")
    for tr in report.never_fired:
        lines.append(f"  การดำเนินการที่ไม่เคยเกิดขึ้น / transition never fired: {tr}")
    for problem in report.problems:
        lines.append(f"  จำลองไม่ได้ / cannot simulate: {problem}")
    for path in report.written:
        lines.append(f"  เขียนแล้ว / written: {path}")
    return "\n".join(lines)


# ------------------------------------------------------------- capturing mail
class _CapturedMail:
    """Takes the mail a Notifier sends and keeps it (nothing leaves the machine)."""

    def __init__(self) -> None:
        self.outbox = None
        self.sent: list[dict[str, Any]] = []

    def send(self, to, subject, text, html=None, attachments=(), *, reply_to=None, application=None, kind=None):
        message_id = f"<sim-{len(self.sent) + 1}@simulate.invalid>"
        names = [a[0] for a in attachments]
        self.sent.append({"to": to, "subject": subject, "text": text, "application": application,
                          "kind": kind, "attachments": names})
        if self.outbox is not None:
            self.outbox.record([to] if isinstance(to, str) else list(to), subject, "sent", message_id=message_id,
                               application=application, kind=kind, attachments=names)
        return message_id


# ----------------------------------------------------------- documents, faster
def _outputs_class(render_once: bool):
    """The real issuer; with ``render_once`` each template is laid out once and
    its PDF reused for later issues of the same output (still numbered, signed
    and stored each time) — the walk's cost is the PDF layout, not the engine."""
    from .outputs import Outputs

    if not render_once:
        return Outputs

    class RenderOnce(Outputs):
        def _render(self, service, output, context):
            cache = self.__dict__.setdefault("_rendered", {})
            if output.id not in cache:
                cache[output.id] = super()._render(service, output, context)
            return cache[output.id]

    return RenderOnce


# -------------------------------------------------------------------- the walk
@dataclass
class _Run:
    app_id: str
    path: tuple
    answers_key: int


class _Simulator:
    def __init__(self, service: Any, catalogue: Any, folder: Path, render_once: bool = True):
        from .applications import Applications
        from .files import FileStore
        from .notifications import Notifier
        from .store import open_store
        from .workflow import Workflow

        self.service = service
        self.agency = service.agency.code
        self.clock = FixedClock(START)
        store = open_store(folder / "store", durable=False)  # a throw-away store: no fsync
        files = FileStore(folder / "files", durable=False)
        self.mail = _CapturedMail()
        notifier = Notifier(store, self.mail, clock=self.clock, base_url="https://eservice.invalid")
        outputs = _outputs_class(render_once)(files, folder, base_url="https://eservice.invalid", clock=self.clock)
        self.ctx = EngineContext(catalogue=catalogue, store=store, files=files, clock=self.clock,
                                 notifier=notifier, outputs=outputs)
        self.apps = Applications(self.ctx)
        self.wf = Workflow(self.ctx)
        self.env = ExprEnvironment(self.ctx, self.agency)
        self.times: dict[str, dt.datetime] = {}
        self.applicant = self._applicant()
        self.answer_sets: list[dict[str, Any]] = []

    def _applicant(self) -> Actor:
        from .auth import Accounts

        from argon2 import PasswordHasher

        # the simulated applicant never signs in: a cheap hash (a real one costs a second of CPU)
        accounts = Accounts(self.ctx.store, self.clock, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        user, token = accounts.register(APPLICANT_EMAIL, "simulated applicant passphrase 42",
                                        {"first_name": "สมมติ", "last_name": "ทดสอบ"})
        user = accounts.verify_email(token)
        return Actor(user_id=user["id"], name="สมมติ ทดสอบ", ip="192.0.2.1", user_agent="eservice simulate")

    def officer(self, role: str) -> Actor:
        return Actor(user_id=f"sim-{role}", grants=(Grant(self.agency, role),), name=f"เจ้าหน้าที่ {role}",
                     ip="192.0.2.2", user_agent="eservice simulate")

    # -- time: each application has its own ----------------------------------------
    def at(self, app_id: str) -> None:
        self.clock.set(self.times.get(app_id, START))

    def keep(self, app_id: str) -> None:
        self.times[app_id] = self.clock.now()

    # -- one application -------------------------------------------------------------
    def new_application(self, answers_key: int) -> str:
        from .applications import declaration_of

        self.clock.set(START)
        answers = self.answer_sets[answers_key]
        record = self.apps.start(self.service.id, self.applicant)
        for _section, page in forms.pages(self.service):
            ids = {f.id for f in page.fields}
            page_answers = {k: v for k, v in answers.items() if k in ids}
            if page_answers:
                record, _errors = self.apps.save_page(record["id"], self.applicant, page.id, page_answers)
        for doc in self.apps.applicable_documents(record):
            data = _PDF
            if doc.sample:
                sample = (self.service.file.parent / doc.sample)
                if sample.suffix.lower() == ".pdf" and sample.is_file():
                    data = sample.read_bytes()
            sha = self.ctx.files.put(data)
            record = self.apps.attach(record["id"], self.applicant, doc.id, {
                "sha256": sha, "filename": f"{doc.id}.pdf", "media_type": "application/pdf", "size": len(data)})
        record = self.apps.submit(record["id"], self.applicant, declaration_shown=declaration_of(self.service),
                                  intent_confirmed=True)
        self.keep(record["id"])
        return record["id"]

    def replay(self, run: _Run) -> str:
        app_id = self.new_application(run.answers_key)
        for step in run.path:
            self.apply(app_id, step)
        return app_id

    def apply(self, app_id: str, step: tuple) -> None:
        """Take one step; raise EngineError when the engine refuses it."""
        self.at(app_id)
        try:
            kind = step[0]
            record = self.ctx.store.get_application(app_id)
            if kind == "take":
                _kind, tr_id, role, inputs = step
                actor = self.applicant if role == "applicant" else self.officer(role)
                self.wf.take(app_id, tr_id, actor, dict(inputs), expected_version=record["version"])
            elif kind == "timer":
                self._fire_timer(record, step[1])
            elif kind == "pay":
                self._pay(record)
            elif kind == "overdue":
                self._overdue(record)
            elif kind == "refer":  # the built-in referral (RC-2), open to every service
                refer(self.ctx, app_id, self.officer("registry_clerk"), agency_name="สำนักงานเขตตัวอย่าง",
                      contact="02-123-4567", note="จำลองการส่งต่อ / simulated referral",
                      expected_version=record["version"])
            else:
                raise EngineError("unknown_step", "ขั้นตอนจำลองไม่รู้จัก", f"unknown step {kind}")
        finally:
            self.keep(app_id)

    def _fire_timer(self, record: dict, transition: str) -> None:
        from .workflow import TIMERS

        timers = self.ctx.store.collection(TIMERS)
        mine = [t for t in timers.all() if t["application"] == record["id"] and t["transition"] == transition
                and t["state"] == record["state"]]
        if not mine:
            raise EngineError("no_timer", "ไม่มีตัวจับเวลา", f"no timer for {transition} is running")
        timer = mine[-1]
        due = dt.datetime.fromisoformat(timer["due_at"])
        if due > self.clock.now():
            self.clock.set(due + dt.timedelta(seconds=1))  # the clock moves to fire the timer
        key = f"{timer['application']}:{timer['entered_seq']}:{timer['transition']}"
        try:
            self.wf.take(record["id"], transition, SYSTEM, {}, expected_version=record["version"])
        finally:
            timers.delete(key)

    def _pay(self, record: dict) -> None:
        """"The applicant pays" the open notice in full, on time, by a method the
        fees allow (eservice.payments.ledger.record_payment, as a provider would)."""
        from .payments.ledger import record_payment

        notice = record.get("payment_notice") or {}
        if notice.get("status") != "open":
            raise EngineError("no_notice", "ไม่มีใบแจ้งชำระเงินที่เปิดอยู่", "no open payment notice to pay")
        methods = [m for f in record.get("fees") or [] if f.get("status") != "paid" for m in f.get("methods") or []]
        if not methods:
            raise EngineError("no_method", "ค่าธรรมเนียมไม่มีช่องทางชำระเงิน",
                              "the fee has no payment method, so it cannot be paid")
        before = record["state"]
        outcome = record_payment(self.ctx, ref1=notice["ref1"], ref2=notice["ref2"], amount=notice["amount"],
                                 method=methods[0], actor=SYSTEM, provider="simulate",
                                 provider_ref=f"{record['id']}-{notice['ref2']}")
        if not outcome.applied:
            raise EngineError("payment_flagged", "การชำระเงินไม่ถูกนำไปใช้", f"the payment was not applied "
                              f"({outcome.flag})")
        if self.ctx.store.get_application(record["id"])["state"] == before:
            raise EngineError("not_moved", "ชำระแล้วแต่คำขอไม่ไปต่อ",
                              "paid, but no `system` transition with a `paid` guard moved the application on")

    def _overdue(self, record: dict) -> None:
        """"The applicant does not pay": the clock passes the due date and the
        fee's ``on_overdue`` transition is taken (eservice.payments.ledger.fee_overdue)."""
        from .payments.ledger import fee_overdue

        notice = record.get("payment_notice") or {}
        if notice.get("status") != "open":
            raise EngineError("no_notice", "ไม่มีใบแจ้งชำระเงินที่เปิดอยู่", "no open payment notice")
        due = dt.date.fromisoformat(notice["due_on"])
        after = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(9), tzinfo=BANGKOK)
        if after > self.clock.now():
            self.clock.set(after)
        if fee_overdue(self.ctx, record["id"]) is None:
            raise EngineError("no_on_overdue", "ไม่มี on_overdue", "the unpaid fee names no `on_overdue` transition")

    # -- what may be tried in a state --------------------------------------------------
    def options(self, state_id: str, record: Mapping[str, Any]) -> list[tuple[str, list[tuple]]]:
        """(label, steps to try until one works) for every way out of a state."""
        today = self.clock.today()
        state = self.service.states[state_id]
        timed = {t.transition for t in state.timers}
        found: list[tuple[str, list[tuple]]] = []
        if (record.get("payment_notice") or {}).get("status") == "open":
            found += [("(the applicant pays)", [("pay",)]), ("(the applicant does not pay)", [("overdue",)])]
        if referred_state(self.service) is not None:
            found.append(("(referred to another agency)", [("refer",)]))
        for tr in self.service.definition.workflow.transitions:
            if state_id not in tr.from_:
                continue
            roles = [r for r in tr.roles if r != "system"]
            steps: list[tuple] = []
            if tr.id in timed:
                steps.append(("timer", tr.id))
            if roles:
                role = "applicant" if "applicant" in roles else roles[0]
                steps += [("take", tr.id, role, tuple(sorted(i.items()))) for i in input_sets(tr, today)]
            if not steps:
                found.append((tr.id, []))  # only `system` may take it, and no timer does
                continue
            found.append((tr.id, steps))
        return found


def _guard_signature(service: Any, env: Any, answers: Mapping[str, Any]) -> tuple:
    """What the guards and fee conditions see in these answers (answer sets that
    see the same need not be walked twice)."""
    ev = forms.Evaluation(service, forms.clean(service, answers, env), env)
    seen: list[Any] = []
    exprs = [tr.guard for tr in service.definition.workflow.transitions if tr.guard]
    exprs += [fee.when for fee in service.definition.fees if fee.when]
    for expr in exprs:
        for paid in (True, False):
            try:
                seen.append(ev.holds(expr, {"input": {}, "paid": paid, "state": None, "documents": {}}))
            except (ExpressionError, Exception):
                seen.append("?")
    return tuple(seen)


def simulate_service(service: Any, catalogue: Any, out: Path | None = None) -> ServiceReport:
    """Walk one service (see the module)."""
    started = time.perf_counter()
    definition = service.definition
    report = ServiceReport(service.key, str(service.file))
    report.declared_finals = {s.id: s.outcome or "final" for s in definition.workflow.states if s.final}
    folder = Path(tempfile.mkdtemp(prefix="eservice-simulate-"))
    try:
        from .certificates import create_agency_keys

        create_agency_keys(folder, service.agency.code, org_name_th=service.agency.name.th,
                           org_name_en=service.agency.name.get("en"), key_type="ec")
        sim = _Simulator(service, catalogue, folder, render_once=out is None)
        _walk(sim, report)
        if out is not None:
            report.written = _write_out(sim, report, out)
    except EngineError as exc:
        report.problems.append(f"{exc.code}: {exc.en}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _walk(sim: _Simulator, report: ServiceReport) -> None:
    service = sim.service
    today = START.date()
    base = generate_answers(service, sim.env, today)
    if base is None:
        report.problems.append("no answers pass the form's own rules (every generated candidate was refused)")
        return
    all_transitions = [tr.id for tr in service.definition.workflow.transitions]
    fired: set[str] = set()
    reached: set[str] = set()
    sim.outcome_runs: dict[str, str] = {}
    refusals: dict[str, list[str]] = {}
    signatures: set[tuple] = set()
    variants = itertools.chain([base], answer_variants(service, sim.env, today, base))
    fruitless = 0  # answer sets in a row that reached nothing new
    for count, answers in enumerate(variants):
        if count > MAX_VARIANTS or (count and fired >= set(all_transitions)) or fruitless >= MAX_FRUITLESS:
            break
        coverage = (len(fired), len(reached), len(refusals))
        signature = _guard_signature(service, sim.env, answers)
        if signature in signatures:
            continue
        signatures.add(signature)
        sim.answer_sets.append(answers)
        key = len(sim.answer_sets) - 1
        try:
            first = sim.new_application(key)
        except EngineError as exc:
            if count == 0:
                report.problems.append(f"submission refused: {exc.code}: {exc.en} {exc.details or ''}")
                return
            continue
        report.runs += 1
        expanded: set[str] = set()
        queue = deque([_Run(first, (), key)])
        while queue:
            run = queue.popleft()
            state = sim.ctx.store.get_application(run.app_id)["state"]
            reached.add(state)
            if state in expanded:
                continue
            expanded.add(state)
            if service.states[state].final:
                report.outcomes.setdefault(state, service.states[state].outcome or "final")
                sim.outcome_runs.setdefault(state, run.app_id)
                continue
            app_id: str | None = run.app_id
            moved = False
            reasons: list[str] = []
            for tr_id, steps in sim.options(state, sim.ctx.store.get_application(run.app_id)):
                if not steps:
                    reasons.append(f"{tr_id}: only `system` may take it and no timer or payment does")
                    continue
                for step in steps:
                    if app_id is None:
                        app_id = sim.replay(run)
                        report.runs += 1
                    try:
                        sim.apply(app_id, step)
                    except EngineError as exc:
                        reasons.append(f"{tr_id}: {exc.en}")
                        continue
                    fired.add(tr_id)
                    fired.update(_taken(sim, app_id, len(run.path)))
                    moved = True
                    queue.append(_Run(app_id, run.path + (step,), key))
                    app_id = None
                    break
            if not moved:
                refusals.setdefault(state, sorted(set(reasons)) or ["no transition leaves this state"])
        fruitless = fruitless + 1 if (len(fired), len(reached), len(refusals)) == coverage else 0
    report.dead_ends = refusals
    report.unreachable = [s.id for s in service.definition.workflow.states if s.id not in reached]
    report.never_fired = [t for t in all_transitions if t not in fired]


def _taken(sim: _Simulator, app_id: str, steps_before: int) -> set[str]:
    """The transitions an application's history shows (a payment or a timer
    takes one on the system's behalf)."""
    record = sim.ctx.store.get_application(app_id)
    return {e["data"]["transition"] for e in record["events"] if e["type"] == "transition"}


# ------------------------------------------------------------------ --out
def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _write_out(sim: _Simulator, report: ServiceReport, out: Path) -> list[str]:
    """Every e-mail, fee notice and signed document of one run per outcome."""
    written: list[str] = []
    base = out / _safe(sim.service.id)
    for state, app_id in sim.outcome_runs.items():
        folder = base / _safe(state)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        record = sim.ctx.store.get_application(app_id)
        steps = [f"{e['data'].get('from')} → {e['data'].get('to')} ({e['data'].get('transition')})"
                 for e in record["events"] if e["type"] == "transition"]
        (folder / "path.txt").write_text("\n".join(["submitted", *steps]) + "\n", encoding="utf-8")
        for n, mail in enumerate((m for m in sim.mail.sent if m["application"] == app_id), 1):
            text = (f"To: {mail['to']}\nSubject: {mail['subject']}\n"
                    f"Attachments: {', '.join(mail['attachments']) or '-'}\n\n{mail['text']}")
            (folder / f"mail-{n:02d}-{_safe(mail['kind'] or 'mail')}.txt").write_text(text, encoding="utf-8")
        for fee in record.get("fees", []):
            notice = (f"ค่าธรรมเนียม / fee: {fee['title']['th']} / {fee['title'].get('en')}\n"
                      f"จำนวนเงิน / amount: {fee['amount']} บาท / baht\nครบกำหนด / due: {fee['due_on']}\n"
                      f"ช่องทาง / methods: {', '.join(fee['methods'])}\nสถานะ / status: {fee['status']}\n")
            (folder / f"fee-{_safe(fee['id'])}.txt").write_text(notice, encoding="utf-8")
        documents = [*record.get("licences", {}).values(), *record.get("letters", [])]
        for doc in documents:
            file = doc.get("file")
            if file:
                (folder / _safe(file["filename"])).write_bytes(sim.ctx.files.get(file["sha256"]))
        written.append(str(folder))
    return written


# ------------------------------------------------------------------ entry points
def simulate_paths(paths: list[str], out: Path | None = None) -> tuple[list[ServiceReport], list[Any]]:
    """Load the definitions under ``paths`` and walk every service in them."""
    from .spec.loader import load

    catalogue, problems = load(paths)
    if problems:
        return [], problems
    chosen = [Path(p).resolve() for p in paths]

    def named(service: Any) -> bool:
        file = Path(service.file).resolve()
        return any(file == p or p in file.parents for p in chosen)

    services = [s for s in catalogue.services.values() if named(s)] if hasattr(catalogue, "services") else []
    reports = [simulate_service(s, catalogue, out) for s in sorted(services, key=lambda s: s.key)]
    return reports, []


def reports_json(reports: list[ServiceReport]) -> str:
    return json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2)
