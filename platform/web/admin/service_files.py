"""Templates and sample files uploaded through /admin/services (issue #9 item 4).

Only a file the definition names may be replaced (a licence or letter
``template``, a document's ``sample``), inside the service's own folder.  The
bytes are checked for what they claim to be (a template is UTF-8 text; a
sample's real type, from its bytes, matches its name), then the definition is
checked again with the same loader as ``eservice check`` — templates rendered
against sample answers — and the old file is put back if that finds a problem.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...filetypes import EXTENSIONS, decode_text, sniff_format
from ...policy import Actor
from ...spec.problems import Problem
from ... import publishing

__all__ = ["replace_file", "Result"]

MAX_BYTES = 10 * 1024 * 1024


@dataclass
class Result:
    kind: str = "success"
    th: str = ""
    en: str = ""
    problems: list[Problem] = field(default_factory=list)


def _refuse(th: str, en: str) -> Result:
    return Result("error", th, en)


def _inside(base: Path, target: Path) -> bool:
    return target == base or base in target.parents


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def replace_file(ctx: Any, service: Any, target: str | None, upload: Any, actor: Actor,
                       audit: Any = None, check_live: bool = True) -> Result:
    """Replace ``target`` (a path the definition or its draft names) with the
    uploaded bytes.  ``check_live``: the live version uses the file, so the
    live definition is checked again with it and the old file put back on a
    problem; a file only the draft names is checked with the draft (editor)."""
    if not target:
        return _refuse("เลือกไฟล์ที่นิยามบริการอ้างถึง", "choose one of the files the definition names")
    if upload is None or not hasattr(upload, "read"):
        return _refuse("เลือกไฟล์ที่จะอัปโหลด", "choose a file to upload")
    data = await upload.read(MAX_BYTES + 1)
    if not data:
        return _refuse("ไฟล์ว่างเปล่า", "the file is empty")
    if len(data) > MAX_BYTES:
        return _refuse("ไฟล์ใหญ่เกิน 10 MB", "the file is larger than 10 MB")
    base = Path(service.file).resolve().parent
    path = (base / target).resolve()
    if not _inside(base, path):
        return _refuse("ไฟล์ต้องอยู่ในโฟลเดอร์ของบริการ", "the file must be inside the service's folder")
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".j2", ".jinja"):
        if decode_text(data) != "utf-8":
            return _refuse("แม่แบบต้องเป็นข้อความ UTF-8", "a template must be UTF-8 text")
    else:
        real = sniff_format(data)
        if real is None or suffix not in EXTENSIONS.get(real, ()):
            shown = real or "?"
            return _refuse(f"เนื้อไฟล์ ({shown}) ไม่ตรงกับชื่อไฟล์ `{target}`",
                           f"the file's content ({shown}) does not match the name `{target}`")
    old = path.read_bytes() if path.is_file() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, data)
    problems: list[Problem] = []
    if check_live:
        from starlette.concurrency import run_in_threadpool  # the check renders templates: off the event loop

        _, problems = await run_in_threadpool(publishing.check_text, ctx.catalogue, service, service.text)
    if problems:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            _write(path, old)
        return Result("error", "ไฟล์นี้ทำให้นิยามบริการมีปัญหา จึงไม่ได้บันทึก", "this file makes the definition fail "
                      "its check, so it was not saved", problems)
    if audit is not None:
        audit.record(actor, "definition.file_replaced", target=service.id, agency=service.agency.code,
                     details={"service": service.id, "file": target, "bytes": len(data)})
    return Result("success", f"บันทึกไฟล์ `{target}` แล้ว", f"Saved `{target}`.")
