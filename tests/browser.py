"""The browser-test harness: the real server, a real SMTP server, a real Chromium.

R: NF-1 (functional tests of the whole platform as people use it).

Use it from a test module (tests/ is on ``sys.path``; it has no ``__init__``)::

    import pytest
    pytest.register_assert_rewrite("browser")   # before importing it
    pytest_plugins = ("browser",)                # fixtures + screenshots on failure
    from browser import expect, sign_in          # noqa: E402

    def test_catalogue(live_server, page):
        page.goto(live_server.url("/"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()

What it gives
-------------
``server_factory``  ``server_factory(seed=None) -> LiveServer``: starts
                    ``python -m eservice.cli serve --port <free> --data <tmp>
                    --definitions <repo>/service_definitions`` in a subprocess,
                    with ``ESERVICE_SMTP_*`` pointing at the ``smtp_server``
                    fixture (tests/smtp_server.py) and ``ESERVICE_BASE_URL`` at
                    the server itself; ``seed(data_folder)`` runs first, before the
                    server opens the store (see :func:`seed_user`).  Waits for
                    ``/healthz``; stops the server (terminate, then kill) at the end.
``live_server``     one started server, nothing seeded.
``browser``         one headless Debian Chromium per session (Playwright,
                    ``executable_path=/usr/bin/chromium``); skipped with a reason
                    only when Chromium is not installed.
``new_context``     ``new_context() -> BrowserContext``: a fresh context (own
                    cookies) with ``locale="th-TH"``; several per test are fine
                    (an applicant and an officer side by side).
``page``            a page in a first fresh context.

On a failure every page still open in the test's contexts is saved as
``/tmp/e2e-screens/<test>-<n>.png`` (full page) with its HTML beside it
(``.html``), and the server's log is printed (``-rA`` shows it); see
docs/testing.md.

Mail helpers: :func:`wait_for_mail` (by recipient and subject, ignoring other
mails such as officers' digests) and :func:`links_in`.  Files: :func:`make_pdf`.

Steps people take (bottom of this file), shared by the journeys: :func:`register`
(through /register and the confirmation mail), :func:`sign_in`, :func:`sign_out`,
:func:`open_service_from_catalogue`, the pages of the food-shop permit
(:func:`fill_applicant_kind` … :func:`fill_consents`), :func:`attach`,
:func:`sign_and_submit`, and :func:`apply_for_food_shop` (all of it in one go).
They find controls by their labels, legends, roles and visible names, in Thai.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:  # the test modules import `expect` from here, so a missing package fails their tests, not the run
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - playwright is in the test extras
    expect = None

REPO = Path(__file__).resolve().parent.parent
DEFINITIONS = REPO / "service_definitions"
SCREENS = Path(os.environ.get("E2E_SCREENS") or "/tmp/e2e-screens")
TRACE = (os.environ.get("E2E_TRACE") or "").strip().lower() in ("1", "true", "yes", "on")  # Playwright traces

# Debian's Chromium in a container: no sandbox, no GPU, nothing phoning home.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 15_000  # one step of a journey (generous: CI machines are shared); a journey stays under ~60 s
SERVER_START_TIMEOUT = 60.0
if expect is not None:  # expect(...) waits as long as an action may (its own default is 5 s)
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)

__all__ = [
    "CHROMIUM_ARGS", "DEFINITIONS", "LiveServer", "SCREENS", "chromium_path", "expect", "free_port", "links_in",
    "make_pdf", "mail_to", "seed_user", "wait_for_mail",
    "browser", "live_server", "new_context", "page", "playwright_instance", "server_factory",
]


# --------------------------------------------------------------------------- helpers


def chromium_path() -> str | None:
    """The Chromium to drive: ``$CHROMIUM``, ``chromium`` on PATH, or Debian's path."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def seed_user(data: Path, email: str, password: str, profile: Mapping[str, Any] | None = None, *,
              roles: Iterable[tuple[str, str]] = (), verified: bool = True) -> dict[str, Any]:
    """Create an account in the data folder ``data`` (before the server starts).

    ``roles`` are ``(agency, role)`` pairs, e.g. ``[("nonthaburi-city", "reviewer")]``.
    Returns the user record."""
    from eservice.auth import Accounts
    from eservice.store import open_store

    store = open_store(Path(data) / "store")
    try:
        accounts = Accounts(store)
        user, token = accounts.register(email, password, dict(profile or {}))
        if verified:
            user = accounts.verify_email(token)
        for agency, role in roles:
            user = accounts.grant_role(user["id"], agency, role, granted_by="e2e-test")
        return dict(user)
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def make_pdf(text: str = "e2e test document", pages: int = 1) -> bytes:
    """A small, valid, legible PDF made with pypdf: A4 pages with ``text`` written on them."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    safe = text.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width=595, height=842)  # A4 in points
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        content = DecodedStreamObject()
        content.set_data(b"BT /F1 20 Tf 72 760 Td (" + safe + b") Tj 0 -30 Td (page %d) Tj ET" % number)
        page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Title": text, "/Producer": "eservice e2e tests"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mail_to(smtp: Any, address: str) -> list[Any]:
    """Every mail received so far for ``address`` (envelope or To:)."""
    address = address.lower()
    found = []
    for m in list(smtp.messages):
        recipients = [r.lower() for r in m.rcpt_tos] + [str(m.message.get("To", "")).lower()]
        if any(address in r for r in recipients):
            found.append(m)
    return found


def wait_for_mail(smtp: Any, to: str, subject: str | re.Pattern[str] | None = None, *,
                  timeout: float = 15.0, after: int = 0) -> Any:
    """The first mail to ``to`` whose subject contains ``subject`` (or matches the
    pattern), skipping the first ``after`` mails to that address; waits up to
    ``timeout`` seconds.  Other mails (digests, other people) are ignored."""
    deadline = time.monotonic() + timeout
    while True:
        for m in mail_to(smtp, to)[after:]:
            got = str(m.message.get("Subject", ""))
            if subject is None or (subject.search(got) if isinstance(subject, re.Pattern) else subject in got):
                return m
        if time.monotonic() > deadline:
            seen = [(list(m.rcpt_tos), str(m.message.get("Subject", ""))) for m in smtp.messages]
            raise AssertionError(f"no mail to {to!r} with subject {subject!r} within {timeout}s; received: {seen}")
        time.sleep(0.1)


_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def links_in(text: str, base_url: str | None = None) -> list[str]:
    """The http(s) links in a text, optionally only those under ``base_url``."""
    links = [u.rstrip(".,;") for u in _LINK.findall(text)]
    if base_url:
        links = [u for u in links if u.startswith(base_url)]
    return links


# --------------------------------------------------------------------------- the server


@dataclass
class LiveServer:
    """``eservice serve`` in a subprocess on loopback."""

    data: Path
    smtp: Any
    definitions: Path = DEFINITIONS
    host: str = "127.0.0.1"
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def log_path(self) -> Path:
        return self.data.parent / f"{self.data.name}-server.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> LiveServer:
        self.port = self.port or free_port(self.host)
        env = dict(os.environ)
        for name in list(env):  # nothing from the developer's shell leaks in
            if name.startswith("ESERVICE_"):
                del env[name]
        env.update({
            "ESERVICE_SMTP_HOST": self.smtp.host,
            "ESERVICE_SMTP_PORT": str(self.smtp.port),
            "ESERVICE_SMTP_TLS": "none",
            "ESERVICE_SMTP_FROM": "ระบบ e-Service <noreply@eservice.test>",
            "ESERVICE_BASE_URL": self.base_url,
            "ESERVICE_SECRET": "e2e-test-secret-" + "x" * 32,
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.env)
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "eservice.cli", "serve", "--host", self.host, "--port", str(self.port),
                 "--data", str(self.data), "--definitions", str(self.definitions)],
                cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"eservice serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = exc
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"eservice serve did not answer /healthz within {SERVER_START_TIMEOUT}s "
                           f"({last}):\n{self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def server_factory(smtp_server, tmp_path, request):
    """``server_factory(seed=None, env=None) -> LiveServer`` (started).  ``seed(data)``
    runs before the server starts, on the same data folder."""
    started: list[LiveServer] = []

    def start(seed: Callable[[Path], Any] | None = None, env: Mapping[str, str] | None = None) -> LiveServer:
        data = tmp_path / f"data{len(started)}"
        data.mkdir(parents=True, exist_ok=True)
        if seed is not None:
            seed(data)
        server = LiveServer(data=data, smtp=smtp_server, env=dict(env or {}))
        started.append(server)
        return server.start()

    yield start
    failed = _failed(request)
    for server in started:
        server.stop()
        if failed:
            print(f"\n----- server log ({server.base_url}, {server.log_path}) -----\n{server.log()[-20000:]}")


@pytest.fixture
def live_server(server_factory) -> LiveServer:
    return server_factory()


# --------------------------------------------------------------------------- the browser


# Module scope, not session: Playwright's sync API keeps an event loop running in the
# main thread while it is alive, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def playwright_instance():
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; scripts/test.sh does it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # a missing dependency is a failure, not a skip: CI must run these tests
        pytest.fail("the Python package 'playwright' is missing: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance):
    # Playwright gives every launch a fresh temporary --user-data-dir of its own.
    browser = playwright_instance.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                                  headless=True, slow_mo=float(os.environ.get("E2E_SLOWMO") or 0))
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser, request):
    """``new_context(**options)``: a fresh context (Thai locale, Bangkok time)."""
    contexts: list[Any] = []

    def make(**options: Any):
        options = {"locale": "th-TH", "timezone_id": "Asia/Bangkok", "viewport": {"width": 1280, "height": 900},
                   "accept_downloads": True, **options}
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS * 2)
        if TRACE:
            context.tracing.start(screenshots=True, snapshots=True)
        contexts.append(context)
        return context

    yield make
    failed = _failed(request)
    if failed:
        _screenshots(request.node, contexts)
    for n, context in enumerate(contexts, 1):
        if TRACE:
            trace = SCREENS / f"{_safe_name(request.node.nodeid.split('::')[-1])}-trace-{n}.zip"
            try:
                context.tracing.stop(path=str(trace) if failed else None)
                if failed:
                    print(f"\ntrace: {trace}  (playwright show-trace {trace})")
            except Exception:  # pragma: no cover
                pass
    for context in contexts:
        try:
            context.close()
        except Exception:  # pragma: no cover - the browser may already be gone
            pass


@pytest.fixture
def page(new_context):
    return new_context().new_page()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "test"


def _screenshots(node: Any, contexts: list[Any]) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    n = 0
    for context in contexts:
        for pg in list(getattr(context, "pages", [])):
            n += 1
            stem = SCREENS / f"{_safe_name(node.nodeid.split('::')[-1])}-{n}"
            try:
                pg.screenshot(path=str(stem.with_suffix(".png")), full_page=True, timeout=5000)
                stem.with_suffix(".html").write_text(pg.content(), encoding="utf-8")
                print(f"\nscreenshot: {stem}.png  ({pg.url})")
            except Exception as exc:  # pragma: no cover - a crashed page
                print(f"\nscreenshot of {pg.url} failed: {exc}")


# --------------------------------------------------------------------------- failure detection

_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report


def _failed(request: Any) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


# --------------------------------------------------------------------------- steps people take
#
# Shared by the journeys.  Every step goes through what a person sees: labels,
# legends, buttons and links (Playwright's get_by_label / get_by_role), in Thai,
# the platform's default language.

SERVICE_ID = "food-shop-permit"  # nonthaburi-city: a form of several sections, documents, a workflow
SERVICE_TITLE = "แจ้งจัดตั้งหรือขออนุญาตจัดตั้งสถานที่จำหน่ายอาหารและสถานที่สะสมอาหาร"
AGENCY = "nonthaburi-city"
AGENCY_PHONE = "02-589-0500"
PASSWORD = "Nonthaburi-e2e-2569"

# The address every test uses (real names: the address plugin checks them).
ADDRESS = {"line": "99/1 ถนนรัตนาธิเบศร์", "province": "นนทบุรี", "district": "เมืองนนทบุรี",
           "subdistrict": "บางกระสอ", "postcode": "11000"}
ADDRESS_LABELS = {"line": "บ้านเลขที่ หมู่ ซอย ถนน", "province": "จังหวัด", "district": "อำเภอ / เขต",
                  "subdistrict": "ตำบล / แขวง", "postcode": "รหัสไปรษณีย์"}
# Each document the food-shop form asks for with the answers of these journeys.
REQUIRED_DOCUMENTS = ("id_card_copy", "house_registration_copy", "floor_plan", "training_certificates")


def thai_id(first12: str) -> str:
    """A Thai national ID with a valid check digit."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


def group(page: Any, legend: str):
    """A fieldset by its legend (role "group"), with or without "(ไม่บังคับ)" after it."""
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(legend)}(\s*\(ไม่บังคับ\))?$"))


def choose(page: Any, legend: str, option: str) -> None:
    """Tick the radio button or checkbox ``option`` of the question ``legend``."""
    group(page, legend).get_by_label(option, exact=True).check()


def fill_date(page: Any, legend: str, day: int, month: int, year_be: int) -> None:
    box = group(page, legend)
    box.get_by_label("วัน", exact=True).fill(str(day))
    box.get_by_label("เดือน", exact=True).fill(str(month))
    box.get_by_label("ปี (พ.ศ.)", exact=True).fill(str(year_be))


def fill_address(page: Any, legend: str, address: Mapping[str, str] = ADDRESS) -> None:
    box = page.get_by_role("group", name=legend)  # the legend may say "(optional)" too
    for part, label in ADDRESS_LABELS.items():
        box.get_by_label(label, exact=True).fill(address[part])


def save_and_continue(page: Any) -> None:
    page.get_by_role("button", name="บันทึกและดำเนินการต่อ").click()


def register(page: Any, server: LiveServer, email: str, *, first_name: str, last_name: str,
             national_id: str, phone: str, password: str = PASSWORD) -> Any:
    """Create an account through /register and open the link of the confirmation mail.
    Returns that mail."""
    page.goto(server.url("/"))
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="ลงทะเบียน").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ลงทะเบียนใช้งาน")
    page.get_by_label("อีเมล", exact=True).fill(email)
    page.get_by_label("รหัสผ่าน", exact=True).fill(password)
    page.get_by_label("ยืนยันรหัสผ่าน", exact=True).fill(password)
    page.get_by_label("ชื่อ", exact=True).fill(first_name)
    page.get_by_label("นามสกุล", exact=True).fill(last_name)
    page.get_by_label("เลขประจำตัวประชาชน").fill(national_id)
    page.get_by_label("หมายเลขโทรศัพท์").fill(phone)
    page.get_by_role("button", name="ลงทะเบียน").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ตรวจสอบอีเมลของท่าน")
    expect(page.get_by_role("main")).to_contain_text(email)

    mail = wait_for_mail(server.smtp, email, "ยืนยันอีเมล")
    links = [u for u in links_in(mail.text, server.base_url) if "/verify?" in u]
    assert links, f"no confirmation link in the mail:\n{mail.text}"
    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("ยืนยันอีเมลแล้ว")
    expect(page.get_by_role("main")).to_contain_text(email)
    return mail


def sign_in(page: Any, server: LiveServer, email: str, password: str = PASSWORD) -> None:
    if "/login" not in page.url:
        page.goto(server.url("/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("เข้าสู่ระบบ")
    page.get_by_label("อีเมล", exact=True).fill(email)
    page.get_by_label("รหัสผ่าน", exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(page.get_by_role("button", name="ออกจากระบบ")).to_be_visible()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="ออกจากระบบ").click()
    expect(page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="เข้าสู่ระบบ")).to_be_visible()


def open_service_from_catalogue(page: Any, server: LiveServer) -> None:
    """Home → the service's page → "start" → the start page's "start the application"
    (a POST: only that creates the draft) (A-S1, A-F1)."""
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="บริการทั้งหมด").click()
    page.get_by_role("link", name=SERVICE_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE_TITLE)
    expect(page.get_by_role("main")).to_contain_text(AGENCY_PHONE)  # A-S3: whom to ask
    page.get_by_role("button", name="เริ่มยื่นคำขอ").first.click()
    expect(page).to_have_url(re.compile(r"/apply/[a-z0-9-]+$"))  # the start page: nothing created yet
    page.get_by_role("button", name="เริ่มกรอกคำขอ").click()


def open_task(page: Any, name: str) -> None:
    """A section (or "attach documents") of the task list."""
    page.get_by_role("main").get_by_role("link", name=name, exact=True).click()


def fill_applicant_kind(page: Any) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("ผู้ขอเป็นใคร")
    choose(page, "ยื่นคำขอในนามของ", "บุคคลธรรมดา")
    choose(page, "ยื่นแทนผู้อื่นโดยได้รับมอบอำนาจ", "ไม่ใช่")
    save_and_continue(page)


def fill_person_birth_date(page: Any, day: int = 14, month: int = 3, year_be: int = 2528) -> None:
    fill_date(page, "วันเกิด", day, month, year_be)


def fill_contact(page: Any) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("ช่องทางติดต่อ")
    fill_address(page, "ที่อยู่ตามทะเบียนบ้านของผู้ขอ หรือที่ตั้งสำนักงานใหญ่ของนิติบุคคล")
    save_and_continue(page)


def fill_shop_start(page: Any, shop_name: str) -> None:
    """The first answers of the shop page (the rest in :func:`fill_shop_rest`)."""
    expect(page.get_by_role("heading", level=1)).to_have_text("สถานที่จำหน่ายหรือสะสมอาหาร")
    page.get_by_label("ชื่อร้าน / ชื่อสถานที่").fill(shop_name)
    page.get_by_label("ประเภทของสถานที่", exact=True).select_option(label="ร้านอาหาร")
    choose(page, "อาหารที่จำหน่ายหรือสะสม (เลือกได้หลายข้อ)", "ปรุงสำเร็จตามสั่ง")
    choose(page, "อาหารที่จำหน่ายหรือสะสม (เลือกได้หลายข้อ)", "เครื่องดื่ม")


def fill_shop_rest(page: Any, area: str = "120") -> None:
    fill_address(page, "ที่ตั้งของสถานที่")
    page.get_by_label("พื้นที่ประกอบการทั้งหมด").fill(area)
    page.get_by_label("จำนวนที่นั่งสำหรับลูกค้า").fill("30")
    choose(page, "ผู้ขอเป็นเจ้าของอาคารที่ตั้งร้าน", "ใช่")
    fill_date(page, "วันที่เริ่มหรือจะเริ่มประกอบกิจการ", 1, 7, 2569)
    save_and_continue(page)


def fill_handlers(page: Any, name: str = "นางแดง ใจดี") -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("ผู้สัมผัสอาหาร")
    page.get_by_role("group", name="ผู้สัมผัสอาหาร 1", exact=True).get_by_label("ชื่อ-นามสกุล").fill(name)
    choose(page, "หน้าที่", "ผู้ปรุงอาหาร")
    choose(page, "ผ่านการอบรมผู้สัมผัสอาหารแล้ว", "ใช่")
    choose(page, "มีใบรับรองแพทย์", "ไม่ใช่")
    save_and_continue(page)


def fill_consents(page: Any) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("ความยินยอมและการรับทราบ")
    for legend in ("ยินยอมให้ตรวจสถานที่", "ยินยอมให้ตรวจสอบข้อมูล"):
        choose(page, legend, "ข้าพเจ้ายินยอมตามข้อความข้างต้น")
    save_and_continue(page)


def attach(page: Any, document_id: str, filename: str, data: bytes, *, mime: str = "application/pdf") -> None:
    """Choose a file for one document and press its own "attach" button (A-F4)."""
    section = page.locator(f"#doc-{document_id}")
    section.locator("input[type=file]").set_input_files(
        files=[{"name": filename, "mimeType": mime, "buffer": data}])
    # the button's name is "แนบไฟล์ <document>"; the file input's may start "แนบไฟล์ใหม่…"
    section.get_by_role("button", name=re.compile(r"^แนบไฟล์(\s|$)")).click()
    expect(page.locator(f"#doc-{document_id}")).to_contain_text(filename)


def attach_required_documents(page: Any) -> dict[str, str]:
    """Attach a generated PDF to every document these answers require; returns the file names."""
    expect(page.get_by_role("heading", level=1)).to_have_text("แนบเอกสาร")
    names = {}
    for doc in REQUIRED_DOCUMENTS:
        names[doc] = f"{doc}.pdf"
        attach(page, doc, names[doc], make_pdf(f"{doc} - e2e test copy"))
        expect(page.get_by_role("status").first).to_contain_text("แล้ว")  # "แนบ … แล้ว"
    return names


def sign_and_submit(page: Any) -> None:
    """The check page: tick the declaration (type-1 e-signature, A-F8) and send."""
    expect(page.get_by_role("heading", level=1)).to_have_text("ตรวจสอบข้อมูลก่อนยื่นคำขอ")
    page.get_by_label("ข้าพเจ้าได้อ่านและขอรับรองตามข้อความข้างต้น").check()
    page.get_by_role("button", name="ยืนยันและยื่นคำขอ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ยื่นคำขอเรียบร้อยแล้ว")


def intake_number_on(page: Any) -> str:
    text = page.get_by_role("main").inner_text()
    found = re.search(r"เลขรับ\s+(\d+/25\d\d)", text)
    assert found, f"no intake number on the page:\n{text}"
    return found.group(1)


def apply_for_food_shop(page: Any, server: LiveServer, shop_name: str) -> str:
    """A signed-in applicant applies from the catalogue to the acknowledgement, in one go.
    Returns the intake number."""
    open_service_from_catalogue(page, server)
    open_task(page, "ข้อมูลผู้ขอ")
    fill_applicant_kind(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("ข้อมูลผู้ขอ (บุคคลธรรมดา)")
    fill_person_birth_date(page)
    save_and_continue(page)
    fill_contact(page)
    open_task(page, "ข้อมูลสถานที่")
    fill_shop_start(page, shop_name)
    fill_shop_rest(page)
    fill_handlers(page)
    open_task(page, "ความยินยอม")
    fill_consents(page)
    open_task(page, "แนบเอกสาร")
    attach_required_documents(page)
    page.get_by_role("main").get_by_role("link", name="ดำเนินการต่อ").click()
    sign_and_submit(page)
    return intake_number_on(page)
