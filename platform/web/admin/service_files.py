"""Templates and sample files uploaded through /admin/services (issue #9 item 4).

Only a file the draft names and the live version does not use may be
uploaded (a licence or letter ``template``, a document's ``sample``), inside
the service's own folder: files of a live version are never replaced, so an
application keeps the documents of its version, and a new file is used only
once the draft naming it is approved (two-person).  The bytes are checked for
what they claim to be (a template is UTF-8 text; a sample's real type, from
its bytes, matches its name), then the draft is checked with the same loader
as ``eservice check`` — templates rendered against sample answers — and the
file removed again if that finds a problem at the key naming it.
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


async def replace_file(ctx: Any, service: Any, draft_text: str, target: dict | None, upload: Any, actor: Actor,
                       audit: Any = None) -> Result:
    """Write the uploaded bytes as ``target`` (a file the draft names, never one
    the live version uses), then check the draft with it; a problem at the
    key that names this file removes it again (the file it replaced, if any,
    is put back)."""
    if not target:
        return _refuse("เลือกไฟล์ที่ฉบับร่างอ้างถึง (ไฟล์ที่ฉบับที่ใช้อยู่ใช้ แก้ไขทับไม่ได้ ให้ตั้งชื่อไฟล์ใหม่ในฉบับร่าง)",
                       "choose a file the draft names (a file the live version uses is never replaced: "
                       "name a new file in the draft)")
    if upload is None or not hasattr(upload, "read"):
        return _refuse("เลือกไฟล์ที่จะอัปโหลด", "choose a file to upload")
    data = await upload.read(MAX_BYTES + 1)
    if not data:
        return _refuse("ไฟล์ว่างเปล่า", "the file is empty")
    if len(data) > MAX_BYTES:
        return _refuse("ไฟล์ใหญ่เกิน 10 MB", "the file is larger than 10 MB")
    name = target["path"]
    base = Path(service.file).resolve().parent
    path = (base / name).resolve()
    if not _inside(base, path):
        return _refuse("ไฟล์ต้องอยู่ในโฟลเดอร์ของบริการ", "the file must be inside the service's folder")
    suffix = path.suffix.lower()
    if target["kind"] == "template":
        if decode_text(data) != "utf-8":
            return _refuse("แม่แบบต้องเป็นข้อความ UTF-8", "a template must be UTF-8 text")
    else:
        real = sniff_format(data)
        if real is None or suffix not in EXTENSIONS.get(real, ()):
            shown = real or "?"
            return _refuse(f"เนื้อไฟล์ ({shown}) ไม่ตรงกับชื่อไฟล์ `{name}`",
                           f"the file's content ({shown}) does not match the name `{name}`")
    old = path.read_bytes() if path.is_file() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, data)
    from starlette.concurrency import run_in_threadpool  # the check renders templates: off the event loop

    _, problems = await run_in_threadpool(publishing.check_text, ctx.catalogue, service, draft_text)
    about_file = [p for p in problems if p.path == target["where"]]
    if about_file:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            _write(path, old)
        return Result("error", "ไฟล์นี้ทำให้นิยามบริการมีปัญหา จึงไม่ได้บันทึก",
                      "this file makes the definition fail its check, so it was not saved", about_file)
    if audit is not None:
        audit.record(actor, "definition.file_uploaded", target=service.id, agency=service.agency.code,
                     details={"service": service.id, "file": name, "bytes": len(data)})
    return Result("success", f"บันทึกไฟล์ `{name}` แล้ว จะใช้เมื่อฉบับร่างได้รับอนุมัติ",
                  f"Saved `{name}`; it is used once the draft is approved.")
