"""The `eservice` command: check definitions, print the schema, serve the platform."""
from __future__ import annotations

import argparse
import json
import os
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
        if problems:
            print(f"พบปัญหา {len(problems)} รายการ / {len(problems)} problem(s) found", file=sys.stderr)
        else:
            print(f"ผ่าน: หน่วยงาน {agencies} แห่ง บริการ {services} รายการ / "
                  f"OK: {agencies} agencies, {services} services")
    return 1 if problems else 0


def _schema(args: argparse.Namespace) -> int:
    from .spec.schema import definition_schema

    print(json.dumps(definition_schema(args.kind), ensure_ascii=False, indent=2))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    os.environ["ESERVICE_DATA"] = str(Path(args.data).resolve())
    os.environ["ESERVICE_DEFINITIONS"] = os.pathsep.join(str(Path(p).resolve()) for p in args.definitions)
    if args.demo:
        os.environ["ESERVICE_DEMO"] = "1"
        from .web.demo import seed_demo

        seed_demo()
    print(f"eservice: http://{args.host}:{args.port}/  (data: {args.data})", flush=True)
    uvicorn.run("eservice.web.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", proxy_headers=True)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_command

    return audit_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eservice", description="e-Service platform for Thai agencies")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="load and check service definitions / ตรวจนิยามบริการ")
    check.add_argument("paths", nargs="*", help=f"files or folders (default: {DEFAULT_DEFINITIONS}/)")
    check.add_argument("--json", action="store_true", help="print problems as JSON")
    check.set_defaults(func=_check)

    schema = sub.add_parser("schema", help="print the JSON Schema of the definition format")
    schema.add_argument("--kind", choices=("service", "agency", "any"), default="any")
    schema.set_defaults(func=_schema)

    audit = sub.add_parser("audit", help="audit trail / บันทึกการตรวจสอบ")
    audit_sub = audit.add_subparsers(dest="audit_action", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain / ตรวจความครบถ้วนของบันทึก")
    verify.add_argument("--data", default=os.environ.get("ESERVICE_DATA", "data"))
    verify.add_argument("--json", action="store_true", help="print problems as JSON")
    verify.set_defaults(func=_audit)

    serve = sub.add_parser("serve", help="start the web platform / เปิดระบบ")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--data", default=os.environ.get("ESERVICE_DATA", "data"))
    serve.add_argument("--definitions", nargs="+", default=[DEFAULT_DEFINITIONS])
    serve.add_argument("--demo", action="store_true", help="create demo accounts")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
