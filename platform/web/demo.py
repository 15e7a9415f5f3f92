"""Demo accounts for ``eservice serve --demo`` (never for production).

R: A-X1 (one account for every kind of user: applicants, registry clerks,
reviewers, approvers, signing authorities, finance, heads of agency, agency and
system administrators), A-I1/A-I2 (accounts that can sign in at once), A-F2
(citizens with complete profiles, so forms are prefilled).

``seed_demo()`` is called by the CLI before the server starts, with
``ESERVICE_DATA`` and ``ESERVICE_DEFINITIONS`` already in the environment.  For
each agency of the loaded catalogue it creates a verified officer account per
role — the built-in ones and any extra role the agency's services declare under
``roles:`` (e.g. ``engineer``) — as ``<role>@<agency-code>.demo.go.th``, plus
``mayor@<agency-code>.demo.go.th``, one person holding ``head_of_agency`` and
``signing_authority`` (signs licences and approves disposals); one system administrator ``admin@demo.go.th``; and two citizens,
``somchai@demo.example`` and ``malee@demo.example``, with valid national ID
numbers, real Thai addresses and phone numbers.  Every account uses the
password :data:`DEMO_PASSWORD`.

It is idempotent: an account that exists is left as it is (only a missing role
is granted), so running it twice creates nothing new.  It refuses a data folder
that holds accounts but was never seeded as a demo (real data), and prints the
list of accounts.  ``docs/demo.md`` is the same list with what each can do
(:func:`demo_markdown` writes it).

It also installs a demo CA and signing certificate for every agency that has
none (:func:`install_demo_keys`), so licences and letters are signed in the
demo.  Not done here: sample applications in different states.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..plugins.thai_address import normalize_address

__all__ = ["DEMO_PASSWORD", "DemoAccount", "ROLE_INFO", "demo_accounts", "demo_markdown", "install_demo_keys",
           "seed_demo"]

DEMO_PASSWORD = "demo-password-2569"
MARKER_COLLECTION = "demo"
MARKER_KEY = "seeded"

OFFICER_ROLES = ("registry_clerk", "reviewer", "approver", "signing_authority", "finance_officer",
                 "head_of_agency", "agency_admin")

# Role id -> (Thai title, English title, what it can do in Thai, in English).
ROLE_INFO: dict[str, tuple[str, str, str, str]] = {
    "registry_clerk": (
        "เจ้าหน้าที่ทะเบียนรับ", "Registry clerk",
        "เห็นคำขอใหม่และคำขอที่มีความเคลื่อนไหว ตรวจความครบถ้วน ขอเอกสารเพิ่ม (PR-1, A-R1)",
        "Sees new and changed applications, checks completeness, asks for missing documents (PR-1, A-R1)"),
    "reviewer": (
        "เจ้าหน้าที่ตรวจสอบ", "Reviewer",
        "ตรวจรายละเอียดคำขอและเอกสาร บันทึกผลการตรวจ ระบุข้อมูลหรือเอกสารที่ยังขาด (A-R2, A-R3)",
        "Reviews the details and documents, records the result and what is still missing (A-R2, A-R3)"),
    "approver": (
        "ผู้อนุมัติ", "Approver",
        "พิจารณาอนุมัติหรือไม่อนุมัติคำขอ (A-A1–A-A3)",
        "Approves or refuses applications (A-A1–A-A3)"),
    "signing_authority": (
        "ผู้มีอำนาจลงนาม", "Signing authority",
        "ลงนามใบอนุญาตและหนังสือแจ้งผลทางอิเล็กทรอนิกส์ (A-L3, A-L4)",
        "Signs licences and decision letters electronically (A-L3, A-L4)"),
    "finance_officer": (
        "เจ้าหน้าที่การเงิน", "Finance officer",
        "ตรวจสอบการชำระค่าธรรมเนียมและออกใบเสร็จรับเงินอิเล็กทรอนิกส์ (PR-12, A-P6)",
        "Verifies fee payments and issues electronic receipts (PR-12, A-P6)"),
    "head_of_agency": (
        "หัวหน้าหน่วยงาน", "Head of agency",
        "อนุมัติการจำหน่ายเรื่องเมื่อติดต่อผู้ยื่นไม่ได้หรือพ้นกำหนด และดูรายงาน (PR-2, A-R6); "
        "ลงนามและเผยแพร่ประกาศและคำสั่งเรื่องการให้บริการผ่านระบบอิเล็กทรอนิกส์ (CH-2)",
        "Approves disposal when the applicant cannot be reached or missed a deadline; sees reports (PR-2, A-R6); "
        "signs and publishes the announcement and order on the e-Service (CH-2)"),
    "agency_admin": (
        "ผู้ดูแลระบบของหน่วยงาน", "Agency administrator",
        "จัดการบัญชีเจ้าหน้าที่และบทบาทของหน่วยงาน (A-X1)",
        "Manages the agency's staff accounts and roles (A-X1)"),
    "service_editor": (
        "ผู้แก้ไขนิยามบริการ", "Service editor",
        "แก้ไข ตรวจ และเสนอเผยแพร่นิยามบริการของหน่วยงาน ผู้แก้ไขอีกคนหรือผู้ดูแลของหน่วยงานอนุมัติ (A-SP1–A-SP5)",
        "Edits, checks and proposes the agency's service definitions; another editor or the agency "
        "administrator approves (A-SP1–A-SP5)"),
    "system_admin": (
        "ผู้ดูแลระบบ", "System administrator",
        "ดูแลทั้งระบบ ทุกหน่วยงาน (A-X1)",
        "Administers the whole installation, every agency (A-X1)"),
    "applicant": (
        "ประชาชนผู้ยื่นคำขอ", "Citizen applicant",
        "ยื่นคำขอ บันทึกร่าง แนบเอกสาร ชำระค่าธรรมเนียม และติดตามคำขอ (A-F1–A-F10)",
        "Applies, saves drafts, attaches documents, pays fees and tracks applications (A-F1–A-F10)"),
}


MAYOR = ("ผู้บริหารหน่วยงาน (นายกเทศมนตรี / ผู้อำนวยการเขต)", "Chief executive (mayor / district director)",
         "บัญชีเดียวถือสองบทบาท: หัวหน้าหน่วยงาน (อนุมัติการจำหน่ายเรื่อง ดูรายงาน) และผู้มีอำนาจลงนาม (ลงนามใบอนุญาต) (A-X1)",
         "One account with two roles: head of agency (approves disposals, sees reports) and signing authority "
         "(signs licences) (A-X1)")


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str  # "applicant" for citizens
    agency: str | None  # None for citizens, "*" for the system administrator
    title_th: str
    title_en: str
    can_th: str = ""
    can_en: str = ""
    profile: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    also: tuple[str, ...] = ()  # more roles held by the same account (one person, many roles: the mayor)

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.role, *self.also)


CITIZENS = (
    DemoAccount(
        "somchai@demo.example", "applicant", None, "สมชาย ใจดี", "Somchai Jaidee",
        profile={
            "first_name": "สมชาย", "last_name": "ใจดี", "national_id": "3100500123458",
            "phone": "081-234-5678", "birth_date": "1985-03-14",
            "address": {"line": "99/1 ถนนรัตนาธิเบศร์", "subdistrict": "บางกระสอ", "district": "เมืองนนทบุรี",
                        "province": "นนทบุรี", "postcode": "11000"},
        }),
    DemoAccount(
        "malee@demo.example", "applicant", None, "มาลี ศรีสุข", "Malee Srisuk",
        profile={
            "first_name": "มาลี", "last_name": "ศรีสุข", "national_id": "1103700456783",
            "phone": "089-876-5432", "birth_date": "1990-11-02",
            "address": {"line": "1 ซอยพหลโยธิน 24", "subdistrict": "จอมพล", "district": "จตุจักร",
                        "province": "กรุงเทพมหานคร", "postcode": "10900"},
        }),
)


def _text(value: Any) -> tuple[str, str]:
    th = getattr(value, "th", None) or str(value or "")
    return th, getattr(value, "en", None) or th


def _transitions_of(catalogue: Any, agency: str, role: str) -> list[tuple[str, str]]:
    """What ``role`` can do in ``agency``'s services: ``(Thai, English)`` lines."""
    lines = []
    for service in catalogue.of_agency(agency):
        titles = [_text(t.title) for t in service.definition.workflow.transitions if role in t.roles]
        if titles:
            s_th, s_en = _text(service.definition.title)
            lines.append((f"{s_th}: " + ", ".join(t[0] for t in titles),
                          f"{s_en}: " + ", ".join(t[1] for t in titles)))
    return lines


def _agency_roles(catalogue: Any, code: str) -> list[tuple[str, str, str]]:
    """Built-in officer roles, then extra roles declared by the agency's services."""
    roles = [(r, ROLE_INFO[r][0], ROLE_INFO[r][1]) for r in OFFICER_ROLES]
    seen = set(OFFICER_ROLES)
    for service in catalogue.of_agency(code):
        for decl in service.definition.roles:
            if decl.id not in seen:
                seen.add(decl.id)
                th, en = _text(decl.title)
                roles.append((decl.id, th, en))
    return roles


def demo_accounts(catalogue: Any) -> list[DemoAccount]:
    """Every demo account for ``catalogue``: officers by agency and role, the
    system administrator, the citizens."""
    out: list[DemoAccount] = []
    for code in sorted(catalogue.agencies):
        for role, th, en in _agency_roles(catalogue, code):
            info = ROLE_INFO.get(role)
            can_th, can_en = (info[2], info[3]) if info else (
                f"บทบาทเฉพาะของบริการ: {th}", f"A role the agency's services declare: {en}")
            out.append(DemoAccount(f"{role}@{code}.demo.go.th", role, code, th, en, can_th, can_en))
        # One person, several roles (issue #9): the chief executive approves disposals and signs.
        out.append(DemoAccount(f"mayor@{code}.demo.go.th", "head_of_agency", code, *MAYOR, also=("signing_authority",)))
    info = ROLE_INFO["system_admin"]
    out.append(DemoAccount("admin@demo.go.th", "system_admin", "*", info[0], info[1], info[2], info[3]))
    info = ROLE_INFO["applicant"]
    out.extend(DemoAccount(c.email, c.role, None, c.title_th, c.title_en, info[2], info[3], c.profile)
               for c in CITIZENS)
    return out


def _profile_of(account: DemoAccount, agency_names: dict[str, str]) -> dict[str, Any]:
    if account.profile:
        profile = dict(account.profile)
        profile["address"] = normalize_address(profile["address"])  # official names + DOPA code
        return profile
    last = "สาธิต" if account.agency in (None, "*") else f"สาธิต {agency_names.get(account.agency, account.agency)}"
    return {"first_name": account.title_th, "last_name": last[:100]}


class DemoRefused(Exception):
    """The data folder holds accounts that are not demo accounts."""


def seed_demo(settings: Any = None, *, clock: Any = None, store: Any = None, catalogue: Any = None,
              out: TextIO | None = None, hasher: Any = None) -> list[tuple[DemoAccount, bool]]:
    """Create the demo accounts that do not exist yet; return ``(account, created)``
    for each and print the list.  Exits (status 1) with a message when the data
    folder holds real accounts.  ``clock``, ``store``, ``catalogue`` and
    ``hasher`` (an ``argon2.PasswordHasher``) may be given, e.g. in tests."""
    from ..auth import Accounts
    from ..clock import SystemClock
    from .context import Settings, load_catalogue

    out = out or sys.stdout
    settings = settings or Settings.from_env()
    if catalogue is None:
        catalogue = load_catalogue(settings.definitions)
    clock = clock or SystemClock()
    own_store = store is None
    if own_store:
        from ..store import open_store

        settings.data.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.store_path, clock=clock, database_url=settings.database_url)
    try:
        try:
            result = _seed(store, clock, catalogue, Accounts(store, clock, hasher=hasher))
        except DemoRefused as exc:
            print(f"eservice: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
    finally:
        if own_store:
            close = getattr(store, "close", None)
            if callable(close):
                close()
    _print(result, catalogue, out)
    install_demo_keys(settings.data, catalogue, out=out)
    return result


def install_demo_keys(data: Any, catalogue: Any, *, out: TextIO | None = None) -> list[str]:
    """A demo CA and signing certificate for every agency that has none yet, so
    that licences and letters can be signed in the demo (IS-2).  Returns the
    agencies that got new keys."""
    from ..certificates import CERT_FILE, agency_keys_dir, create_agency_keys

    made = []
    for code, agency in sorted(catalogue.agencies.items()):
        if (agency_keys_dir(data, code) / CERT_FILE).exists():
            continue
        th, en = _text(agency.name)
        create_agency_keys(data, code, org_name_th=th, org_name_en=en)
        made.append(code)
    if out is not None and made:
        print(f"eservice: ใบรับรองสาธิตสำหรับลงนามเอกสาร / demo signing certificates: {', '.join(made)}", file=out)
    return made


def _seed(store: Any, clock: Any, catalogue: Any, accounts: Any) -> list[tuple[DemoAccount, bool]]:
    marker = store.collection(MARKER_COLLECTION)
    users = store.collection("users")
    if marker.get(MARKER_KEY) is None and next(iter(users.all()), None) is not None:
        raise DemoRefused(
            "โฟลเดอร์ข้อมูลนี้มีบัญชีผู้ใช้จริงอยู่แล้ว จึงไม่สร้างบัญชีสาธิต ให้ใช้โฟลเดอร์ข้อมูลอื่น (--data) / "
            "this data folder already holds real accounts, so no demo accounts were created; "
            "use another data folder (--data)")
    if marker.get(MARKER_KEY) is None:
        marker.put(MARKER_KEY, {"at": clock.now().isoformat()})
    names = {code: _text(a.name)[0] for code, a in catalogue.agencies.items()}
    result = []
    for account in demo_accounts(catalogue):
        user = accounts.find_by_email(account.email)
        created = user is None
        if created:
            user, token = accounts.register(account.email, DEMO_PASSWORD, _profile_of(account, names))
            user = accounts.verify_email(token)
        for role in account.roles if account.role != "applicant" else ():
            if not accounts.has_role(user, account.agency, role):
                user = accounts.grant_role(user["id"], account.agency, role, granted_by="demo")
        result.append((account, created))
    return result


def _print(result: Iterable[tuple[DemoAccount, bool]], catalogue: Any, out: TextIO) -> None:
    result = list(result)
    created = sum(1 for _, c in result if c)
    print(f"eservice: บัญชีสาธิต / demo accounts ({created} new, {len(result) - created} existing) — "
          f"รหัสผ่านทุกบัญชี / password for all: {DEMO_PASSWORD}", file=out)
    current = object()
    for account, _ in result:
        if account.agency != current:
            current = account.agency
            if account.agency is None:
                heading = "ประชาชน / citizens"
            elif account.agency == "*":
                heading = "ทั้งระบบ / whole installation"
            else:
                heading = f"{_text(catalogue.agencies[account.agency].name)[0]} ({account.agency})"
            print(f"  {heading}", file=out)
        print(f"    {account.email:<48} {account.title_th} / {account.title_en}", file=out)
    out.flush()


def demo_markdown(catalogue: Any) -> str:
    """``docs/demo.md``: every demo account by agency and role, and what it can do."""
    lines = [
        "# ระบบสาธิต / The demo",
        "",
        "`eservice serve --demo` สร้างบัญชีด้านล่างก่อนเปิดระบบ (ถ้ายังไม่มี) และแสดงรายการบนหน้าจอ "
        "ใช้เพื่อทดลองเท่านั้น ห้ามใช้กับข้อมูลจริง",
        "",
        "`eservice serve --demo` creates the accounts below before the server starts (when they do not "
        "exist yet) and prints them. For trying the platform only — never with real data: it refuses a "
        "data folder that already holds real accounts.",
        "",
        f"**รหัสผ่านทุกบัญชี / Password for every account: `{DEMO_PASSWORD}`**",
        "",
        "ทุกบัญชียืนยันอีเมลแล้ว เข้าสู่ระบบได้ทันทีที่ `/login` เมื่อระบบสาธิตไม่ได้ตั้งค่าการส่งอีเมล "
        "ลิงก์ยืนยันอีเมลและลิงก์ตั้งรหัสผ่านใหม่ของบัญชีที่ลงทะเบียนเองจะแสดงบนหน้าเว็บแทน",
        "",
        "Every account is already verified: sign in at `/login`. When the demo has no mail server "
        "(`ESERVICE_SMTP_HOST` unset), the confirmation and password-reset links of accounts you register "
        "yourself are shown on the page instead of being e-mailed (demo only).",
        "",
        "What an officer can do in a service is set by the service's workflow (`roles:` of each "
        "transition); the lists below are read from the example definitions in `service_definitions/`.",
        "",
        "ลองใช้: เข้าสู่ระบบเป็น `somchai@demo.example` แล้วยื่นคำขอ จากนั้นออกจากระบบ "
        "แล้วเข้าสู่ระบบเป็นเจ้าหน้าที่ของหน่วยงานนั้นเพื่อพิจารณาคำขอ",
        "",
        "Try it: sign in as `somchai@demo.example` and apply for a service; sign out, then sign in as an "
        "officer of that agency (for example its `registry_clerk`) to handle the application.",
        "",
        "## เอกสารที่ออก / Issued documents",
        "",
        "`eservice serve --demo` ติดตั้ง CA สาธิตและใบรับรองสำหรับลงนามให้ทุกหน่วยงาน (`<data>/keys/<หน่วยงาน>/`) "
        "ใบอนุญาต หนังสือไม่อนุญาต หนังสือแจ้งการจำหน่ายเรื่อง และหนังสือตอบข้อมูลที่ออกในระบบสาธิตจึงเป็น PDF "
        "ที่ลงลายมือชื่อดิจิทัลของหน่วยงาน มีตราลายมือชื่อและ QR code ผู้ยื่นดาวน์โหลดได้จากหน้าสถานะคำขอ "
        "และได้รับเป็นไฟล์แนบทางอีเมลเมื่อระบบตั้งค่าอีเมลไว้ เจ้าหน้าที่เปิดดูร่างใบอนุญาตได้ก่อนลงนาม "
        "โปรแกรมอ่าน PDF จะแสดงว่าลายมือชื่อถูกต้องเมื่อนำเข้า `ca.pem` ของหน่วยงานเป็น CA ที่เชื่อถือ "
        "ถ้าไม่ได้ตั้ง `ESERVICE_TSA_URL` ลายมือชื่อไม่มีตราประทับเวลา (PAdES B-B) "
        "QR code บนเอกสารเปิดหน้าตรวจสอบ `/verify` ซึ่งตรวจเลขที่ใบอนุญาตหรือไฟล์ PDF ที่อัปโหลดได้ด้วย "
        "ใบอนุญาตที่มี `publish:` แสดงในทะเบียนใบอนุญาตสาธารณะ `/licences`",
        "",
        "`eservice serve --demo` installs a demo CA and signing certificate for every agency "
        "(`<data>/keys/<agency>/`), so the licences, refusal letters, disposal notices and information letters "
        "issued in the demo are PDFs signed with the agency's certificate, with a visible stamp and a QR code. The "
        "applicant downloads them from the application's status page and gets them attached to the e-mail of "
        "that step when mail is configured; officers can open a draft licence before it is signed. A PDF reader "
        "shows the signature as valid once the agency's `ca.pem` is imported as a trusted CA. Without "
        "`ESERVICE_TSA_URL` the signatures carry no time stamp (PAdES B-B). The QR code on a document opens the "
        "`/verify` page, which also checks a licence number or an uploaded PDF; licences a service `publish`es "
        "appear in the public licence register at `/licences`.",
        "",
        "## ค่าธรรมเนียม / Fees",
        "",
        "เมื่อคำขอถึงขั้นแจ้งค่าธรรมเนียม ระบบออกใบแจ้งชำระเป็น PDF ที่ลงนามแล้ว (จำนวนเงินเป็นตัวอักษร วันครบกำหนด "
        "อ้างอิง 1 และ 2 และ Thai QR) แสดงในหน้าสถานะคำขอด้วย ในระบบสาธิตชำระได้สองทาง: ผู้ยื่นแนบหลักฐานการชำระ "
        "(สลิป) ในหน้าสถานะ แล้วเข้าสู่ระบบเป็น `finance_officer` ของหน่วยงานเพื่อรับหลักฐาน หรือเจ้าหน้าที่การเงิน"
        "บันทึกการรับชำระที่เคาน์เตอร์ในหน้าคำขอ ทั้งสองทางออกใบเสร็จรับเงินอิเล็กทรอนิกส์ (PDF ลงนาม เลขที่ต่อเนื่องตามปีงบประมาณ) "
        "แล้วคำขอไปขั้นถัดไปเอง การชำระด้วย QR ต้องมีธนาคารแจ้งผลเข้ามา (`ESERVICE_BANK_WEBHOOK_SECRET`) "
        "ระบบสาธิตไม่มีธนาคาร ทดลองได้ด้วยธนาคารจำลอง `tests/bank_simulator.py` (ดู docs/payments.md) "
        "ระบบไม่มีการคืนเงิน",
        "",
        "When an application reaches its fee, the platform issues a signed PDF payment notice (amount in words, due "
        "date, references 1 and 2, Thai QR), also shown on the status page. In the demo there are two ways to pay: "
        "the applicant uploads a proof (slip) on the status page and the agency's `finance_officer` accepts it, or "
        "the finance officer records a counter payment on the application page. Both issue a signed electronic "
        "receipt (numbered per fiscal year) and move the application on by themselves. Paying by QR needs a bank "
        "that reports payments (`ESERVICE_BANK_WEBHOOK_SECRET`); the demo has none: try it with the bank "
        "simulator `tests/bank_simulator.py` (see docs/payments.md). The platform does not do refunds.",
        "",
        "ไฟล์นี้สร้างจากโค้ด / This file is generated: `python -m eservice.web.demo > docs/demo.md`.",
        "",
        "## ประชาชน / Citizens",
        "",
        "| e-mail | ชื่อ / name | ข้อมูลในโปรไฟล์ / profile |",
        "|---|---|---|",
    ]
    for c in CITIZENS:
        p = c.profile
        a = p["address"]
        lines.append(f"| `{c.email}` | {c.title_th} / {c.title_en} | เลขประจำตัวประชาชน {p['national_id']}, "
                     f"โทร {p['phone']}, {a['line']} {a['subdistrict']} {a['district']} {a['province']} "
                     f"{a['postcode']} |")
    info = ROLE_INFO["applicant"]
    lines += ["", f"{info[2]}", "", f"{info[3]}", ""]
    accounts = demo_accounts(catalogue)
    for code in sorted(catalogue.agencies):
        th, en = _text(catalogue.agencies[code].name)
        lines += [f"## {th} / {en} (`{code}`)", "",
                  "| e-mail | บทบาท / role | ทำอะไรได้ / what it can do |", "|---|---|---|"]
        for account in (a for a in accounts if a.agency == code):
            can = f"{account.can_th}<br>{account.can_en}"
            steps = [s for role in account.roles for s in _transitions_of(catalogue, code, role)]
            if steps:
                can += "<br>" + "<br>".join(f"• {s_th} / {s_en}" for s_th, s_en in steps)
            lines.append(f"| `{account.email}` | {account.title_th} / {account.title_en} | {can} |")
        lines.append("")
    info = ROLE_INFO["system_admin"]
    lines += ["## ผู้ดูแลระบบ / System administrator", "",
              "| e-mail | บทบาท / role | ทำอะไรได้ / what it can do |", "|---|---|---|",
              f"| `admin@demo.go.th` | {info[0]} / {info[1]} | {info[2]}<br>{info[3]} |", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m eservice.web.demo > docs/demo.md
    from .context import load_catalogue as _load

    print(demo_markdown(_load([__import__("pathlib").Path(p) for p in (sys.argv[1:] or ["service_definitions"])])))
