"""The `eservice` command: check definitions, print the schema, manage signing keys, serve the platform."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_DEFINITIONS = "service_definitions"


def _check(args: argparse.Namespace) -> int:
    from .spec.loader import load

    paths = args.paths or [DEFAULT_DEFINITIONS]
    catalogue, problems = load(paths)
    if args.json:
        print(json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            print(problem.format())
            print()
        services = len(catalogue.services)
        agencies = len(catalogue.agencies)
        _print_referral_texts(catalogue)
        if problems:
            print(f"พบปัญหา {len(problems)} รายการ / {len(problems)} problem(s) found", file=sys.stderr)
        else:
            print(f"ผ่าน: หน่วยงาน {agencies} แห่ง บริการ {services} รายการ / "
                  f"OK: {agencies} agencies, {services} services")
    if problems:
        return 1
    if getattr(args, "deep", False):  # every service walked to every outcome (issue #10)
        from .simulate import format_report, simulate_paths

        reports, _ = simulate_paths(paths)
        for report in reports:
            print(format_report(report))
        incomplete = [r.service for r in reports if not r.complete]
        if incomplete:
            print(f"ไม่ผ่าน --deep: {', '.join(incomplete)} ไปไม่ถึงทุกผลลัพธ์หรือมีทางตัน / "
                  f"--deep failed: {', '.join(incomplete)} do not reach every outcome or have a dead end",
                  file=sys.stderr)
            return 1
    return 0


def _simulate(args: argparse.Namespace) -> int:
    """``eservice simulate PATH… [--out DIR]``: exits 1 on a dead end (issue #10)."""
    from .simulate import format_report, reports_json, simulate_paths

    reports, problems = simulate_paths(args.paths or [DEFAULT_DEFINITIONS], Path(args.out) if args.out else None)
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    if problems:
        return 1
    print(reports_json(reports) if args.json else "\n\n".join(format_report(r) for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def _print_referral_texts(catalogue) -> None:
    """Which referral notice and letter each service uses (RC-2): its own or the platform's."""
    from .referral_texts import describe

    for service in sorted(catalogue.services.values(), key=lambda s: (s.id, s.version)):
        print(describe(service))


def _schema(args: argparse.Namespace) -> int:
    from .spec.schema import definition_schema

    print(json.dumps(definition_schema(args.kind), ensure_ascii=False, indent=2))
    return 0


def demo_base_url(host: str, port: int) -> str:
    """The address ``--demo`` binds its links to: the one it listens on
    (``localhost`` when it listens on every interface)."""
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    elif ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .settings import Settings, StartupError, check_public_address, export_env

    try:  # the app checks again in every worker; here the operator sees it before anything starts
        settings = Settings.from_env().with_(
            data=Path(args.data).resolve(), definitions=tuple(Path(p).resolve() for p in args.definitions))
        if args.base_url:
            settings = settings.with_(base_url=args.base_url)
        if args.allowed_hosts:
            settings = settings.with_(allowed_hosts=args.allowed_hosts)
        if args.demo:
            # Links in mails point where the demo listens, and only that host is accepted (issue #17).
            settings = settings.with_(demo=True, base_url=settings.base_url or demo_base_url(args.host, args.port))
        check_public_address(settings)
    except StartupError as exc:
        print(f"eservice: {exc}", file=sys.stderr, flush=True)
        return 1
    export_env(settings)  # uvicorn's worker processes build the app from the environment
    if args.demo:
        from .web.demo import seed_demo

        seed_demo(settings)
    print(f"eservice: http://{args.host}:{args.port}/  (links: {settings.public_base_url}/, data: {args.data})",
          flush=True)
    uvicorn.run("eservice.web.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", proxy_headers=True)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_command

    return audit_command(args)


def _store_folder(args: argparse.Namespace) -> Path:
    return Path(args.data) / "store"


def _database_url() -> str | None:
    from .settings import Settings
    return Settings.from_env().database_url


def _db(args: argparse.Namespace) -> int:
    """``eservice db upgrade|status``: the PostgreSQL schema (ESERVICE_DATABASE_URL)."""
    url = args.url or _database_url()
    if not url:
        print("ไม่ได้ตั้ง ESERVICE_DATABASE_URL (หรือ --url): ระบบใช้ที่เก็บข้อมูลฝังตัว ไม่มีฐานข้อมูลให้ปรับ / "
              "ESERVICE_DATABASE_URL (or --url) is not set: the embedded store is in use, there is no database "
              "to upgrade", file=sys.stderr)
        return 2
    import psycopg

    from .store.pg_schema import SCHEMA_VERSION, schema_version, upgrade
    try:
        if args.db_action == "upgrade":
            before, after = upgrade(url)
            print(f"โครงสร้างฐานข้อมูลรุ่น {before} → {after} / database schema version {before} → {after}")
            return 0
        with psycopg.connect(url) as conn:
            found = schema_version(conn)
    except psycopg.Error as exc:
        print(f"ติดต่อฐานข้อมูลไม่ได้: {exc} / cannot reach the database: {exc}", file=sys.stderr)
        return 1
    print(f"โครงสร้างฐานข้อมูลรุ่น {found} (ระบบนี้ต้องการรุ่น {SCHEMA_VERSION}) / "
          f"database schema version {found} (this eservice needs {SCHEMA_VERSION})")
    return 0 if found == SCHEMA_VERSION else 1


def _store(args: argparse.Namespace) -> int:
    """``eservice store verify [--repair]`` and ``eservice store checkpoint``."""
    from .store import open_store
    from .store.maintenance import verify

    if _database_url():
        print("คำสั่งนี้ใช้กับที่เก็บข้อมูลฝังตัวเท่านั้น ระบบนี้ใช้ PostgreSQL (ESERVICE_DATABASE_URL) / "
              "this command is for the embedded store; this installation uses PostgreSQL (ESERVICE_DATABASE_URL)",
              file=sys.stderr)
        return 2
    store = open_store(_store_folder(args))
    for line in store.startup.repaired:
        print(f"เปิดที่เก็บข้อมูล: {line} / opening the store: {line}")
    if args.store_action == "checkpoint":
        folded = store.checkpoint()
        print(f"บันทึกธุรกรรม {folded} รายการลงไฟล์แล้ว / folded {folded} journal line(s) into the files")
        return 0
    report = verify(store, repair=args.repair)
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": [vars(p) for p in report.problems],
                          "repaired": report.repaired}, ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            print(problem)
        for line in report.repaired:
            print(f"ซ่อมแล้ว / repaired: {line}")
        if report.ok:
            print("ที่เก็บข้อมูลสอดคล้องกันทั้งหมด / the store is consistent")
        elif not args.repair:
            print("สั่ง eservice store verify --repair เพื่อซ่อม / run eservice store verify --repair to repair",
                  file=sys.stderr)
    return 0 if report.ok or args.repair else 1


def _intake_book(args: argparse.Namespace) -> int:
    """Print the book of intake numbers of one agency and Buddhist-Era year (RC-1)."""
    from .intake_book import book_lines, intake_book
    from .store import open_store

    rows = intake_book(open_store(_store_folder(args), database_url=_database_url()), args.agency, args.year)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print("เลขรับ / number\tคำขอ / application\tรหัสอ้างอิง / reference\tเวลารับ / intake time")
        for line in book_lines(rows):
            print(line)
    return 0


def _keys(args: argparse.Namespace) -> int:
    """``eservice keys create`` (demo CA + agency certificate) and ``eservice keys import FILE.p12`` (IS-2)."""
    from .certificates import CertificateError, certificate_validity, create_agency_keys, import_pkcs12

    try:
        if args.keys_action == "create":
            from .spec.loader import load

            catalogue, problems = load(args.definitions)
            agencies = args.agency or sorted(catalogue.agencies)
            if not agencies:
                print("ไม่พบหน่วยงานในนิยามบริการ / no agency found in the definitions", file=sys.stderr)
                return 1
            for code in agencies:
                agency = catalogue.agencies.get(code)
                if agency is None:
                    print(f"ไม่พบหน่วยงาน {code} ในนิยามบริการ / agency {code} is not in the definitions",
                          file=sys.stderr)
                    return 1
                keys = create_agency_keys(args.data, code, org_name_th=agency.name.th,
                                          org_name_en=agency.name.get("en"), key_type=args.key_type,
                                          overwrite=args.overwrite)
                _print_keys(keys, certificate_validity, demo=True)
            return 0
        from .settings import env_secret

        password_text = env_secret(args.password_env) if args.password_env else None
        if password_text is None and sys.stdin.isatty():
            import getpass

            password_text = getpass.getpass("รหัสผ่านของไฟล์ PKCS#12 / PKCS#12 password: ")
        password = password_text.encode("utf-8") if password_text else None
        chain = Path(args.chain).read_bytes() if args.chain else b""
        keys = import_pkcs12(args.data, args.agency, Path(args.file).read_bytes(), password, extra_chain=chain,
                             overwrite=args.overwrite)
        _print_keys(keys, certificate_validity, demo=False)
        return 0
    except CertificateError as exc:
        print(f"eservice: {exc.th}\neservice: {exc.en}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"eservice: อ่านไฟล์ไม่ได้ / cannot read the file: {exc}", file=sys.stderr)
        return 1


def _print_keys(keys, validity, *, demo: bool) -> None:
    start, end = validity(keys.cert_pem)
    kind = "CA สาธิตและใบรับรองของหน่วยงาน / demo CA and agency certificate" if demo else \
        "ใบรับรองของหน่วยงาน / the agency's certificate"
    print(f"{keys.agency}: {kind}\n  {keys.folder}\n  {keys.subject}\n"
          f"  ใช้ได้ / valid {start:%Y-%m-%d} – {end:%Y-%m-%d}; CA: {len(keys.chain_pems)} ใบ / certificate(s)")


def build_parser() -> argparse.ArgumentParser:
    from .settings import DEFAULT_DATA, env_data_folder

    parser = argparse.ArgumentParser(prog="eservice", description="e-Service platform for Thai agencies")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="load and check service definitions / ตรวจนิยามบริการ")
    check.add_argument("paths", nargs="*", help=f"files or folders (default: {DEFAULT_DEFINITIONS}/)")
    check.add_argument("--json", action="store_true", help="print problems as JSON")
    check.add_argument("--deep", action="store_true",
                       help="also simulate every service to every outcome (eservice simulate)")
    check.set_defaults(func=_check)

    simulate = sub.add_parser("simulate", help="walk every service to every outcome / จำลองการยื่นคำขอทุกเส้นทาง")
    simulate.add_argument("paths", nargs="*", help=f"files or folders (default: {DEFAULT_DEFINITIONS}/)")
    simulate.add_argument("--out", help="write the e-mails, notices and documents of one run per outcome here")
    simulate.add_argument("--json", action="store_true", help="print the report as JSON")
    simulate.set_defaults(func=_simulate)

    schema = sub.add_parser("schema", help="print the JSON Schema of the definition format")
    schema.add_argument("--kind", choices=("service", "agency", "any"), default="any")
    schema.set_defaults(func=_schema)

    audit = sub.add_parser("audit", help="audit trail / บันทึกการตรวจสอบ")
    audit_sub = audit.add_subparsers(dest="audit_action", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain / ตรวจความครบถ้วนของบันทึก")
    verify.add_argument("--data", default=env_data_folder() or DEFAULT_DATA)
    verify.add_argument("--json", action="store_true", help="print problems as JSON")
    verify.set_defaults(func=_audit)

    store = sub.add_parser("store", help="the embedded data store / ที่เก็บข้อมูล")
    store_sub = store.add_subparsers(dest="store_action", required=True)
    store_verify = store_sub.add_parser(
        "verify", help="check journal, records and indexes agree / ตรวจความสอดคล้องของข้อมูลและดัชนี")
    store_verify.add_argument("--repair", action="store_true", help="rebuild what drifted / ซ่อมส่วนที่ไม่ตรง")
    store_verify.add_argument("--json", action="store_true")
    store_checkpoint = store_sub.add_parser("checkpoint", help="fold the journal into the files now")
    for command in (store_verify, store_checkpoint):
        command.add_argument("--data", default=env_data_folder() or DEFAULT_DATA)
    store.set_defaults(func=_store)

    db = sub.add_parser("db", help="the PostgreSQL database (ESERVICE_DATABASE_URL) / ฐานข้อมูล PostgreSQL")
    db_sub = db.add_subparsers(dest="db_action", required=True)
    for action, text in (("upgrade", "create or upgrade the schema / สร้างหรือปรับโครงสร้างฐานข้อมูล"),
                         ("status", "show the schema version / แสดงรุ่นโครงสร้างฐานข้อมูล")):
        db_sub.add_parser(action, help=text).add_argument("--url", help="instead of ESERVICE_DATABASE_URL")
    db.set_defaults(func=_db)

    book = sub.add_parser("intake-book", help="the book of intake numbers / ทะเบียนเลขรับ (RC-1)")
    book.add_argument("--agency", required=True)
    book.add_argument("--year", type=int, required=True, help="Buddhist-Era year, e.g. 2569")
    book.add_argument("--data", default=env_data_folder() or DEFAULT_DATA)
    book.add_argument("--json", action="store_true")
    book.set_defaults(func=_intake_book)

    keys = sub.add_parser("keys", help="the agencies' signing keys and certificates / กุญแจและใบรับรองของหน่วยงาน")
    keys_sub = keys.add_subparsers(dest="keys_action", required=True)
    create = keys_sub.add_parser(
        "create", help="a demo CA and agency certificate (demo, tests; not for production) / สร้างใบรับรองสาธิต")
    create.add_argument("--agency", action="append", help="agency code (repeatable; default: every agency)")
    create.add_argument("--definitions", nargs="+", default=[DEFAULT_DEFINITIONS])
    create.add_argument("--key-type", choices=("rsa", "ec"), default="rsa")
    imp = keys_sub.add_parser(
        "import", help="install an agency certificate from a PKCS#12 file with its chain / ติดตั้งใบรับรองจากไฟล์ .p12")
    imp.add_argument("file", help="FILE.p12 (key, certificate, CA chain)")
    imp.add_argument("--agency", required=True, help="agency code")
    imp.add_argument("--chain", help="PEM file with CA certificates the .p12 lacks")
    imp.add_argument("--password-env", default="ESERVICE_P12_PASSWORD",
                     help="environment variable holding the file's password (else it is asked for)")
    for command in (create, imp):
        command.add_argument("--data", default=env_data_folder() or DEFAULT_DATA)
        command.add_argument("--overwrite", action="store_true", help="replace existing keys / แทนที่กุญแจเดิม")
    keys.set_defaults(func=_keys)

    from .register.commands import add_parser as add_register_parser

    add_register_parser(sub, env_data_folder() or DEFAULT_DATA, DEFAULT_DEFINITIONS)  # PL-2, PL-3
    from .payments.commands import add_parser as add_payments_parser

    add_payments_parser(sub, env_data_folder() or DEFAULT_DATA, DEFAULT_DEFINITIONS)  # A-P6

    serve = sub.add_parser("serve", help="start the web platform / เปิดระบบ")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--data", default=env_data_folder() or DEFAULT_DATA)
    serve.add_argument("--definitions", nargs="+", default=[DEFAULT_DEFINITIONS])
    serve.add_argument("--base-url", default=None,
                       help="public address for links in e-mails, e.g. https://eservice.go.th "
                            "(default: ESERVICE_BASE_URL) / ที่อยู่สาธารณะของระบบ")
    serve.add_argument("--allowed-hosts", default=None,
                       help="comma-separated host names to accept (default: ESERVICE_ALLOWED_HOSTS); "
                            "needed when no base URL is set / ชื่อโฮสต์ที่ยอมรับ")
    serve.add_argument("--demo", action="store_true",
                       help="create demo accounts and demo signing keys for every agency; links use "
                            "http://<host>:<port> / โหมดสาธิต")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
