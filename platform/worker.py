"""Background jobs: due timers, SLA warnings, the officers' digest (issue #4;
CH-3, A-A6, PR-2, A-R6).

:func:`run_once` does one round of every job and is safe to call at any time,
any number of times, from any process — each job remembers what it did in the
store, so nothing is done twice:

1. **Timers** — :meth:`eservice.workflow.Workflow.fire_due_timers`: every timer
   that fell due (also while the server was down) fires once.
2. **SLA alerts** (A-A6) — for each open application whose SLA tag is
   ``warning`` or ``overdue`` (:func:`eservice.inbox.sla_tag`), mail the assignee
   (or, with nobody assigned, the officers holding a role that can act in its
   current state) and, when overdue, the head of agency.  Each alert is
   remembered in the ``sla_alerts`` collection under
   ``<application>:<level>:<due instant>``, so it goes once; a new due instant
   (the clock was paused meanwhile) is a new alert.  A temporary mail failure is
   retried on the next round, a permanent one is not.
3. **Digest** (CH-3) — at 08:30 and 16:30 of every working day of the agency's
   calendar, each officer gets one mail listing the applications *they* may see
   (CH-4; a role limited to some services sees those only) that were received,
   or changed by the applicant, since the previous digest went out (nothing new:
   no mail).
   It is sent through ``Notifier.digest`` (:mod:`eservice.notifications`).
   The last slot sent is kept per agency in ``officer_digests``; the slot is
   claimed (version-checked write) before the mails go, so a restart neither
   repeats it nor — since the latest slot not yet sent is sent at the next
   round — skips it.  Slots missed while down are not sent one by one: the
   latest one is sent once, and it lists everything still new.
4. **Register** (PL-4) — once a day (the day is claimed in the store), every
   licence past its ``valid_until`` is written *expired* in the public register
   and recorded in the audit chain (:meth:`eservice.register.Register.daily`);
   the pages show it expired from the first moment anyway.

Mail goes through :class:`eservice.mail.Mailer` with the platform's SMTP
settings (``ESERVICE_SMTP_*``), recorded in the outbox; without SMTP settings
alerts and digests wait (nothing is marked as sent).

:func:`start_background` runs :func:`run_once` every ``ESERVICE_WORKER_INTERVAL``
seconds (``Settings.worker_interval``, default 60; ``0`` turns it off) in an asyncio task started from the
app's lifespan, the blocking work in a thread.  Several uvicorn workers share the
data folder: each tries a non-blocking ``filelock`` on ``<data>/locks/worker.lock``
every round and only the holder runs the jobs (if it dies, the kernel releases
the lock and another takes over).  With an injected clock (tests, demos on a
fixed time) it does not start unless ``force=True``: call ``run_once`` yourself.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from . import inbox
from .clock import SystemClock
from .dates import format_date, format_datetime
from .engine import EngineContext
from .notifications import mailer_from_settings
from .mail import DeliveryError, Outbox
from .policy import OFFICER_ROLES, Actor, Grant
from .runtime import engine_of  # re-exported: the engine of an AppContext
from .settings import DEFAULT_WORKER_INTERVAL, public_url
from .store import ConflictError
from .workflow import Workflow

if TYPE_CHECKING:  # pragma: no cover
    from .spec.loader import CompiledService

__all__ = ["DIGEST_TIMES", "ALERTS", "DIGESTS", "JobReport", "run_once", "fire_timers", "sla_alerts",
           "digests", "register_daily", "latest_slot", "start_background", "stop_background", "engine_of", "mailer_of"]

log = logging.getLogger("eservice.worker")

DIGEST_TIMES = (dt.time(8, 30), dt.time(16, 30))  # CH-3
ALERTS = "sla_alerts"
DIGESTS = "officer_digests"
LOCK_FILE = Path("locks") / "worker.lock"
DEFAULT_INTERVAL = DEFAULT_WORKER_INTERVAL
DIGEST_LINES = 50


@dataclass
class JobReport:
    """What one round did (for logs and tests)."""

    fired: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)  # alert keys mailed
    digests: list[str] = field(default_factory=list)  # "<agency>@<slot>" claimed and sent
    mails: int = 0
    errors: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # register entries that reached the end of `validity`


# ------------------------------------------------------------------ what a round needs
def mailer_of(ctx: Any):
    """A Mailer for the platform's SMTP settings (recording in the outbox), or None."""
    settings = getattr(ctx, "settings", None)
    smtp = getattr(settings, "smtp", None)  # eservice.mail.SmtpSettings, None when mail is off
    if smtp is None:
        return None
    found = ctx.extra.get("worker_mailer")
    if found is None:
        found = mailer_from_settings(smtp, Outbox(ctx.store, ctx.clock), ctx.clock)
        ctx.extra["worker_mailer"] = found
    return found


def _base_url(ctx: Any) -> str:
    """The public address for links in officers' mails: the one rule of
    :func:`eservice.settings.public_url` (no request here)."""
    return public_url(getattr(ctx, "settings", None))


class _Staff:
    """The officers of every agency, read once per round and only when needed."""

    def __init__(self, store: Any):
        self.store = store
        self._data: dict[str, list[dict]] | None = None

    def of(self, agency: str) -> list[dict]:
        if self._data is None:
            self._data = inbox.staff_by_agency(self.store.collection("users").all(), OFFICER_ROLES)
        return self._data.get(agency, [])

    def email(self, agency: str, user_id: str) -> str | None:
        person = next((p for p in self.of(agency) if p["id"] == user_id), None)
        return person["email"] if person else None


def _actor(person: Mapping[str, Any], agency: str) -> Actor:
    return Actor(user_id=person["id"], name=person["name"],
                 grants=tuple(Grant(agency, role, services) for role, services in person["roles"]))


def _service(engine: EngineContext, summary: Mapping[str, Any]) -> CompiledService | None:
    return engine.catalogue.get(summary["service"], summary.get("service_version"))


def _fmt(value: dt.datetime | None, lang: str) -> str:
    return format_datetime(value, lang) if value else "-"


# ------------------------------------------------------------------ 1. timers
def fire_timers(engine: EngineContext, now: dt.datetime) -> list[str]:
    return Workflow(engine).fire_due_timers(now)


# ------------------------------------------------------------------ 2. SLA alerts (A-A6)
def _acting_roles(service: CompiledService, state: str) -> set[str]:
    roles: set[str] = set()
    for tr in service.definition.workflow.transitions:
        if state in tr.from_:
            roles.update(tr.roles)
    return roles - {"applicant", "system"}


def _alert_recipients(summary: Mapping[str, Any], service: CompiledService | None, level: str, staff: _Staff) -> list[str]:
    agency, service_id = summary["agency"], summary["service"]
    people = staff.of(agency)
    chosen: list[dict] = []
    assignee = summary.get("assignee")
    if assignee:
        chosen = [p for p in people if p["id"] == assignee]
    if not chosen:
        roles = _acting_roles(service, summary.get("state") or "") if service is not None else set()
        chosen = [p for p in people if inbox.covers(p, roles or {"head_of_agency"}, service_id)]
    if level == "overdue":
        chosen += [p for p in people if inbox.covers(p, {"head_of_agency"}, service_id)]
    out: list[str] = []
    for person in chosen:
        if person["email"] and person["email"] not in out:
            out.append(person["email"])
    return out


def _alert_mail(engine: EngineContext, summary: Mapping[str, Any], service: CompiledService | None, level: str,
                due: dt.datetime | None, base_url: str) -> tuple[str, str]:
    number = summary.get("intake_number") or summary.get("reference") or summary["id"]
    title = service.definition.title if service is not None else None
    state = service.states.get(summary.get("state") or "") if service is not None else None
    link = f"{base_url}/officer/applications/{summary['id']}"
    if level == "overdue":
        subject = f"คำขอเลขรับ {number} เกินกำหนดเวลาดำเนินการ / Application {number} is overdue"
        th_head, en_head = "คำขอนี้เกินระยะเวลาที่กำหนดแล้ว", "This application is past its time limit."
    else:
        subject = f"คำขอเลขรับ {number} ใกล้ครบกำหนดเวลาดำเนินการ / Application {number} is due soon"
        th_head, en_head = "คำขอนี้ใกล้ครบระยะเวลาที่กำหนด", "This application is nearly due."
    text = "\n".join([
        th_head,
        f"บริการ: {title.th if title else summary['service']}",
        f"สถานะ: {state.title.th if state else summary.get('state')}",
        f"กำหนดแล้วเสร็จ: {_fmt(due, 'th')}",
        f"เปิดดู: {link}",
        "",
        "-" * 40 + " English " + "-" * 10,
        "",
        en_head,
        f"Service: {title.get('en') if title else summary['service']}",
        f"State: {state.title.get('en') if state else summary.get('state')}",
        f"Due: {_fmt(due, 'en')}",
        f"Open: {link}",
        "",
    ])
    return subject, text


def sla_alerts(engine: EngineContext, now: dt.datetime, mailer: Any, *, staff: _Staff | None = None,
               base_url: str = "", report: JobReport | None = None) -> list[str]:
    """Mail each new SLA warning/overdue once (A-A6).  Returns the keys mailed."""
    report = report or JobReport()
    if mailer is None:
        return []
    staff = staff or _Staff(engine.store)
    sent = engine.store.collection(ALERTS)
    done = []
    for agency in engine.catalogue.agencies:
        calendar = engine.calendar(agency)
        for summary in engine.store.open_applications(agency):
            if summary.get("state") in (None, "draft") or summary.get("closed") or not summary.get("intake_at"):
                continue
            service = _service(engine, summary)
            tag = inbox.sla_tag(summary, service, calendar, now)
            level = tag["state"]
            if level not in ("warning", "overdue") or tag["due"] is None:
                continue
            key = f"{summary['id']}:{level}:{tag['due'].astimezone(dt.timezone.utc).isoformat()}"
            if sent.get(key) is not None:
                continue
            recipients = _alert_recipients(summary, service, level, staff)
            entry = {"application": summary["id"], "agency": agency, "level": level, "due": tag["due"].isoformat(),
                     "to": recipients, "at": now.isoformat(), "status": "sending" if recipients else "no_recipient"}
            try:
                claimed = sent.put(key, entry)
            except ConflictError:
                continue  # another process is sending it
            if not recipients:
                log.warning("SLA %s for %s: no officer with an e-mail address to tell", level, summary["id"])
                continue
            subject, text = _alert_mail(engine, summary, service, level, tag["due"], base_url)
            try:
                mailer.send(recipients, subject, text, application=summary["id"], kind=f"sla_{level}")
            except DeliveryError as exc:
                if exc.permanent:
                    sent.put(key, dict(entry, status="failed", error=exc.en), expected_version=claimed["version"])
                else:
                    sent.delete(key)  # try again next round
                report.errors.append(f"sla alert {key}: {exc.en}")
                continue
            sent.put(key, dict(entry, status="sent"), expected_version=claimed["version"])
            report.mails += 1
            done.append(key)
    report.alerts.extend(done)
    return done


# ------------------------------------------------------------------ 3. the digest (CH-3)
def latest_slot(calendar: Any, now: dt.datetime, times: tuple[dt.time, ...] = DIGEST_TIMES) -> dt.datetime | None:
    """The latest digest slot at or before ``now`` (a working day at 08:30 or
    16:30 in the agency's time zone), as a UTC instant; None if none in 3 weeks."""
    local = calendar.to_local(now)
    for back in range(0, 22):
        day = local.date() - dt.timedelta(days=back)
        if not calendar.is_working_day(day):
            continue
        for at in sorted(times, reverse=True):
            slot = dt.datetime.combine(day, at, tzinfo=calendar.tz)
            if slot <= local:
                return slot.astimezone(dt.timezone.utc)
    return None


def _digest_mail(engine: EngineContext, agency: Any, slot: dt.datetime, rows: list, counts: Mapping[str, int],
                 base_url: str) -> tuple[str, str]:
    local = slot.astimezone(engine.calendar(agency.code).tz)
    when_th = f"{format_date(local.date(), 'th')} {local:%H:%M} น."
    when_en = f"{format_date(local.date(), 'en')}, {local:%H:%M}"
    subject = (f"สรุปคำขอ {agency.name.th} รอบ {when_th} / Applications digest {when_en}")
    changed = list(rows)
    lines_th = [f"คำขอใหม่หรือมีความเคลื่อนไหว {len(changed)} เรื่อง "
                f"(ดำเนินการอยู่ทั้งหมด {counts['total']} เรื่อง เกินกำหนด {counts['overdue']} "
                f"ใกล้ครบกำหนด {counts['warning']})", ""]
    lines_en = [f"{len(changed)} new or changed application(s) "
                f"({counts['total']} open, {counts['overdue']} overdue, {counts['warning']} due soon)", ""]
    for row in changed[:DIGEST_LINES]:
        s = row.summary
        number = s.get("intake_number") or s.get("reference")
        title = row.service.definition.title if row.service is not None else None
        state = row.state_title
        link = f"{base_url}/officer/applications/{s['id']}"
        lines_th.append(f"- {number} {title.th if title else s['service']} · {state.get('th') if isinstance(state, dict) else state.th}"
                        f" · กำหนด {_fmt(row.due, 'th')}\n  {link}")
        lines_en.append(f"- {number} {title.get('en') if title else s['service']} · "
                        f"{state.get('en') if isinstance(state, dict) else state.get('en')}"
                        f" · due {_fmt(row.due, 'en')}\n  {link}")
    if len(changed) > DIGEST_LINES:
        more = len(changed) - DIGEST_LINES
        lines_th.append(f"… และอีก {more} เรื่อง ดูทั้งหมดในกล่องงาน")
        lines_en.append(f"… and {more} more: see the inbox")
    inbox_link = f"{base_url}/officer/{agency.code}"
    lines_th += ["", f"กล่องงาน: {inbox_link}"]
    lines_en += ["", f"Inbox: {inbox_link}"]
    text = "\n".join(lines_th + ["", "-" * 40 + " English " + "-" * 10, ""] + lines_en + [""])
    return subject, text


def _news(summary: Mapping[str, Any], since: dt.datetime | None) -> bool:
    """Received, or changed by the applicant, after ``since`` (the previous digest);
    the very first digest lists every application flagged ``changed``."""
    if since is None:
        return bool(summary.get("changed"))
    intake = inbox._instant(summary.get("intake_at"))
    updated = inbox._instant(summary.get("updated_at"))
    return bool(intake and intake > since) or bool(summary.get("changed") and updated and updated > since)


def digests(engine: EngineContext, now: dt.datetime, mailer: Any, *, notifier: Any = None,
            staff: _Staff | None = None, base_url: str = "", report: JobReport | None = None) -> list[str]:
    """Send each agency's digest for the latest slot not sent yet (CH-3).

    Each officer gets the applications *they* may see (a role limited to some
    services sees those only) that were received, or changed by the applicant,
    since the previous slot.  Sent through ``notifier.digest`` (the
    notifications module) when there is one, else as a plain mail."""
    report = report or JobReport()
    use_notifier = notifier is not None and callable(getattr(notifier, "digest", None))
    if use_notifier and getattr(notifier, "mailer", None) is None:
        return []  # mail is not configured: keep the slot for when it is
    if not use_notifier and mailer is None:
        return []
    staff = staff or _Staff(engine.store)
    kept = engine.store.collection(DIGESTS)
    done = []
    for code, agency in engine.catalogue.agencies.items():
        slot = latest_slot(engine.calendar(code), now)
        if slot is None:
            continue
        state = kept.get(code)
        last = dt.datetime.fromisoformat(state["last_slot"]) if state and state.get("last_slot") else None
        if last is not None and last >= slot:
            continue
        # news = since the previous digest was *sent* (not its slot), so nothing is told twice
        since = inbox._instant(state.get("claimed_at")) if state else None
        entry = {"agency": code, "last_slot": slot.isoformat(), "claimed_at": now.isoformat()}
        try:  # claim the slot first: whoever wins the write sends it
            kept.put(code, entry, expected_version=state["version"] if state else None)
        except ConflictError:
            continue
        summaries = engine.store.open_applications(code)
        mails = 0
        for person in staff.of(code):
            if not person["email"]:
                continue
            rows = inbox.sort_rows(inbox.build_rows(summaries, _actor(person, code), now,
                                                    service_of=lambda s: _service(engine, s),
                                                    calendar_for=engine.calendar))
            news = [r for r in rows if _news(r.summary, since)]
            if not news:
                continue  # nothing new for this officer
            if use_notifier:
                items = [dict(r.summary, is_new=not since or bool(inbox._instant(r.summary.get("intake_at"))
                                                                  and inbox._instant(r.summary["intake_at"]) > since))
                         for r in news]
                results = notifier.digest(agency, [person["email"]], now, summaries=items) or []
                sent = sum(1 for r in results if r and r.get("status") == "sent")
                if not sent:
                    report.errors.append(f"digest {code} to {person['id']}: not delivered")
                mails += sent
                continue
            subject, text = _digest_mail(engine, agency, slot, news, inbox.counts(rows), base_url)
            try:
                mailer.send(person["email"], subject, text, kind="officer_digest")
            except DeliveryError as exc:
                report.errors.append(f"digest {code} to {person['id']}: {exc.en}")
                continue
            mails += 1
        report.mails += mails
        done.append(f"{code}@{slot.isoformat()}")
    report.digests.extend(done)
    return done


# ------------------------------------------------------------------ 4. the register (PL-4)
def register_daily(ctx: Any, engine: EngineContext) -> list[str]:
    """Once a day, licences past their ``valid_until`` become *expired* in the public
    register, each recorded in the audit chain (:meth:`eservice.register.Register.daily`)."""
    from .register import Register

    settings = getattr(ctx, "settings", None)
    audit = None
    if settings is not None:
        from .audit import AuditLog

        audit = AuditLog(settings.data, engine.clock)
    return Register(engine.store, engine.catalogue, engine.clock).daily(audit)


# ------------------------------------------------------------------ one round
def run_once(ctx: Any, now: dt.datetime | None = None, *, mailer: Any = None) -> JobReport:
    """One round of every job.  ``ctx``: the app's context (``app.state.ctx``) or
    an EngineContext; ``mailer``: given, or built from the SMTP settings."""
    engine = engine_of(ctx)
    now = now or engine.now()
    notifier = engine.notifier
    if mailer is None:
        mailer = getattr(notifier, "mailer", None) or mailer_of(ctx)
    base_url = _base_url(ctx)
    report = JobReport()
    staff = _Staff(engine.store)
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("timers", lambda: report.fired.extend(fire_timers(engine, now))),
        ("sla_alerts", lambda: sla_alerts(engine, now, mailer, staff=staff, base_url=base_url, report=report)),
        ("digests", lambda: digests(engine, now, mailer, notifier=notifier, staff=staff, base_url=base_url,
                                    report=report)),
        ("register", lambda: report.expired.extend(register_daily(ctx, engine))),
        ("receipts", lambda: _retry_receipts(engine)),  # receipts that could not be signed at payment (#8)
    ]
    for name, job in jobs:
        try:
            job()
        except Exception as exc:  # one failing job must not stop the others
            log.exception("background job %s failed", name)
            report.errors.append(f"{name}: {exc}")
    if report.fired or report.alerts or report.digests or report.expired:
        log.info("jobs: %d timer(s) fired, %d SLA alert(s), digests %s, %d licence(s) expired", len(report.fired),
                 len(report.alerts), report.digests, len(report.expired))
    return report


def _retry_receipts(engine: Any) -> list[str]:
    from .payments.receipts import retry_receipts

    return retry_receipts(engine)


# ------------------------------------------------------------------ in the server
def start_background(app: Any, interval: float | None = None, *, force: bool = False) -> asyncio.Task | None:
    """Run :func:`run_once` every ``interval`` seconds while the app runs (call
    from the lifespan, inside the event loop).  Returns the task, or None when
    off (interval 0, or an injected clock without ``force``)."""
    ctx = app.state.ctx
    interval = ctx.settings.worker_interval if interval is None else interval
    if interval <= 0 or ctx.store is None:
        return None
    if not force and not isinstance(ctx.clock, SystemClock):
        return None
    path = Path(ctx.settings.data) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), thread_local=False)
    state = {"held": False, "rounds": 0}

    async def loop() -> None:
        try:
            while True:
                if not state["held"]:
                    try:
                        lock.acquire(blocking=False)
                        state["held"] = True
                        log.info("this process runs the background jobs (pid %d)", os.getpid())
                    except Timeout:
                        pass  # another worker process holds it
                if state["held"]:
                    try:
                        await asyncio.to_thread(run_once, ctx)
                    except Exception:  # pragma: no cover - run_once already logs per job
                        log.exception("background round failed")
                    state["rounds"] += 1
                await asyncio.sleep(interval)
        finally:
            if state["held"]:
                lock.release(force=True)
                state["held"] = False

    task = asyncio.get_running_loop().create_task(loop(), name="eservice-worker")
    task.eservice_state = state  # type: ignore[attr-defined]  # for tests and health checks
    app.state.worker = task
    return task


async def stop_background(task: asyncio.Task | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
