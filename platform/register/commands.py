"""``eservice register export`` and ``eservice register import`` (PL-2, PL-3).

Both open the data folder's store and the service definitions (as
``eservice serve`` would), show a progress bar on standard error, and print
what they did in Thai and English.  ``export`` writes a file (``--output``)
or standard output; ``import`` exits 1 when a row is wrong (nothing is
written, unless ``--skip-bad``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import IO, Any

__all__ = ["ProgressBar", "register_command"]


class ProgressBar:
    """``label [██████░░░░]  60%  600/1000`` on one line of a terminal; elsewhere (a log,
    a pipe) a line at each tenth, so the output stays short."""

    def __init__(self, label: str, stream: IO[str] | None = None, width: int = 30):
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if self.tty:
            filled = self.width * percent // 100
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {percent:3d}%  {done}/{total}")
            if percent == 100 and done >= total:
                self.stream.write("\n")
        elif percent // 10 != self._shown // 10 or (percent == 100 and self._shown != 100):
            self.stream.write(f"{self.label} {percent:3d}%  {done}/{total}\n")
        self._shown = percent
        self.stream.flush()


def _open(args: argparse.Namespace):
    from ..clock import SystemClock
    from ..spec.loader import load
    from ..store import open_store
    from .model import Register

    catalogue, problems = load(args.definitions)
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    if problems:
        print(f"นิยามบริการมีปัญหา {len(problems)} รายการ / {len(problems)} problem(s) in the definitions",
              file=sys.stderr)
        return None
    return Register(open_store(Path(args.data) / "store"), catalogue, SystemClock())


def _export(args: argparse.Namespace) -> int:
    from ..settings import Settings, public_url
    from .exports import ckan_package, dcat_dataset, export

    register = _open(args)
    if register is None:
        return 1
    if args.agency and args.agency not in register.catalogue.agencies:
        print(f"ไม่พบหน่วยงาน {args.agency} / no agency {args.agency}", file=sys.stderr)
        return 1
    if args.service and register.catalogue.latest(args.service) is None:
        print(f"ไม่พบบริการ {args.service} / no service {args.service}", file=sys.stderr)
        return 1
    if args.format in ("ckan", "dcat"):
        if not args.agency:
            print("ต้องระบุ --agency สำหรับ ckan และ dcat / --agency is needed for ckan and dcat", file=sys.stderr)
            return 1
        settings = Settings.from_env()
        if args.base_url:
            settings = settings.with_(base_url=args.base_url)
        describe = ckan_package if args.format == "ckan" else dcat_dataset
        body = describe(register, args.agency, lambda path: public_url(settings, None, path))
        data = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    else:
        data = export(register, args.format, agency=args.agency, service=args.service,
                      progress=ProgressBar("ส่งออก / export"))
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"เขียน {args.output} แล้ว ({len(data):,} ไบต์) / wrote {args.output} ({len(data):,} bytes)",
              file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _import(args: argparse.Namespace) -> int:
    from ..audit import AuditLog
    from .backfill import TableError, import_rows, read_table

    path = Path(args.file)
    try:
        header, table = read_table(path)
    except TableError as exc:
        print(f"eservice: {exc.th} / {exc.en}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"eservice: อ่านไฟล์ไม่ได้ / cannot read the file: {exc}", file=sys.stderr)
        return 1
    register = _open(args)
    if register is None:
        return 1
    bars = {"check": ProgressBar("ตรวจ / check"), "write": ProgressBar("นำเข้า / import")}
    report = import_rows(register, header, table, skip_bad=args.skip_bad,
                         progress=lambda phase, done, total: bars[phase](done, total))
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.problems and not report.imported and not args.skip_bad:
        print(f"พบปัญหา {len(report.problems)} รายการ จึงยังไม่ได้นำเข้าแถวใด "
              "(แก้ไขแล้วนำเข้าใหม่ หรือใช้ --skip-bad) / "
              f"{len(report.problems)} problem(s): nothing was imported (fix them and import again, "
              "or use --skip-bad)", file=sys.stderr)
        return 1
    print(f"นำเข้า {report.rows} แถว: เพิ่ม {report.added} ปรับปรุง {report.updated} เหมือนเดิม {report.unchanged} "
          f"ข้าม {report.skipped} / {report.rows} row(s): {report.added} added, {report.updated} updated, "
          f"{report.unchanged} unchanged, {report.skipped} skipped")
    if report.imported:
        AuditLog(args.data).record("cli", "register.import", target=path.name, details={
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "rows": report.rows, "added": report.added,
            "updated": report.updated, "unchanged": report.unchanged, "skipped": report.skipped})
    return 1 if report.problems else 0


def register_command(args: argparse.Namespace) -> int:
    return _export(args) if args.register_action == "export" else _import(args)


def add_parser(sub: Any, data_default: str, definitions_default: str) -> None:
    """The ``register`` command's arguments (called by :func:`eservice.cli.build_parser`)."""
    register = sub.add_parser("register", help="the public licence register / ทะเบียนใบอนุญาต (PL-2, PL-3)")
    actions = register.add_subparsers(dest="register_action", required=True)
    export = actions.add_parser("export", help="CSV, XLSX, JSON, a CKAN package or DCAT / ส่งออกทะเบียน")
    export.add_argument("--format", choices=("csv", "xlsx", "json", "ckan", "dcat"), default="csv")
    export.add_argument("--agency", help="agency code (ckan and dcat need it)")
    export.add_argument("--service", help="service id")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument("--base-url", default=None,
                        help="public address for the links in ckan and dcat (default: ESERVICE_BASE_URL)")
    imp = actions.add_parser("import", help="historical licences from FILE.csv or FILE.xlsx / นำเข้าย้อนหลัง")
    imp.add_argument("file", help="FILE.csv or FILE.xlsx with the columns of the export")
    imp.add_argument("--skip-bad", action="store_true",
                     help="import the good rows even when others are wrong / นำเข้าแถวที่ถูกต้อง ข้ามแถวที่ผิด")
    for command in (export, imp):
        command.add_argument("--data", default=data_default)
        command.add_argument("--definitions", nargs="+", default=[definitions_default])
    register.set_defaults(func=register_command)
