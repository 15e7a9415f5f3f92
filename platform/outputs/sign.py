"""Signing issued documents with the agency's organisation certificate (A-L4, IS-2).

Each agency's key and certificate are read once from ``<data>/keys/<agency>/``
(:mod:`eservice.certificates`) into a :class:`eservice.signing.PdfSigner` and
kept.  Every signature is PAdES: **B-T** when a time-stamp authority is
configured (``ESERVICE_TSA_URL``: an RFC 3161 time stamp on the signature,
from pyHanko's HTTP client), **B-B** otherwise (a warning is logged once).
The visible stamp (signer, position, date in the Buddhist Era) is drawn in the
box the template keeps for it.

Failures never fall back to an unsigned document: a missing key, an unusable
certificate or an unreachable time-stamp service raise
:class:`~eservice.outputs.errors.OutputError` with what to do, and the
workflow records nothing.

pyHanko's synchronous ``sign_pdf`` runs its own event loop; inside a running
loop (an async web handler) the signature is made in a helper thread.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import OutputError

__all__ = ["AgencySigners", "off_loop"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def off_loop(fn: Callable[[], T]) -> T:
    """Run *fn* here, or in a helper thread when this thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def _timestamp_failed(exc: BaseException) -> bool:
    from pyhanko.sign.timestamps import TimestampRequestError

    seen = exc
    while seen is not None:
        if isinstance(seen, TimestampRequestError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class AgencySigners:
    """One kept :class:`~eservice.signing.PdfSigner` per agency, and the time-stamp client."""

    def __init__(self, data_dir: str | Path, *, tsa_url: str | None = None, tsa_timeout: float = 10):
        self.data_dir = Path(data_dir)
        self.tsa_url = tsa_url or None
        self.tsa_timeout = tsa_timeout
        self._signers: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._warned = False
        self._timestamper = None

    @property
    def level(self) -> str:
        """The PAdES baseline level of the signatures made."""
        return "PAdES-B-T" if self.tsa_url else "PAdES-B-B"

    def signer(self, agency: str):
        """The agency's signer; OutputError (with the fix) when its keys are missing or unusable."""
        from ..certificates import CertificateError, load_agency_keys
        from ..signing import SigningError

        with self._lock:
            version = self._files_version(agency)
            cached = self._signers.get(agency)
            if cached is not None and cached[0] == version:
                return cached[1]
            try:
                found = load_agency_keys(self.data_dir, agency).signer()
            except (CertificateError, SigningError) as exc:
                raise OutputError(
                    "no_signing_key",
                    f"ยังลงนามเอกสารในนามของหน่วยงาน {agency} ไม่ได้: {exc.th} — ผู้ดูแลระบบต้องติดตั้งใบรับรองของหน่วยงาน "
                    f"(eservice keys import ไฟล์.p12 --agency {agency} หรือสำหรับการทดลอง eservice keys create "
                    f"--agency {agency}) จึงยังไม่ได้บันทึกการดำเนินการนี้",
                    f"documents cannot be signed for agency {agency} yet: {exc.en}. An administrator must install "
                    f"the agency's certificate (eservice keys import FILE.p12 --agency {agency}, or for a trial "
                    f"eservice keys create --agency {agency}); nothing was recorded") from exc
            self._signers[agency] = (version, found)
            return found

    def _files_version(self, agency: str) -> tuple:
        """When the key files last changed: new keys (``eservice keys import``)
        are used from the next document on, without a restart."""
        from ..certificates import CERT_FILE, CHAIN_FILE, KEY_FILE, agency_keys_dir

        try:
            folder = agency_keys_dir(self.data_dir, agency)
        except Exception:
            return ()
        out = []
        for name in (KEY_FILE, CERT_FILE, CHAIN_FILE):
            try:
                stat = (folder / name).stat()
                out.append((name, stat.st_mtime_ns, stat.st_size))
            except OSError:
                out.append((name, None, None))
        return tuple(out)

    def timestamper(self):
        if not self.tsa_url:
            if not self._warned:
                self._warned = True
                log.warning("ESERVICE_TSA_URL is not set: documents are signed PAdES B-B, without a time stamp")
            return None
        # One kept client (requests, not aiohttp: aiohttp makes a session and loads the
        # CA bundle for every request, as each signature runs its own event loop).
        with self._lock:
            if self._timestamper is None:
                from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

                self._timestamper = RequestsHTTPTimeStamper(self.tsa_url, timeout=self.tsa_timeout)
            return self._timestamper

    def sign(self, agency: str, pdf: bytes, *, reason: str, location: str | None, stamp_lines: Sequence[str],
             stamp_box: tuple[int, tuple[float, float, float, float]] | None) -> bytes:
        """Certify *pdf* for *agency*, with the visible stamp and (when configured) a time stamp."""
        from ..signing import SigningError, VisibleStamp

        signer = self.signer(agency)
        stamp = None
        if stamp_box is not None:
            page, (x1, y1, x2, y2) = stamp_box
            stamp = VisibleStamp(box=(round(x1), round(y1), round(x2), round(y2)), page=page,
                                 lines=list(stamp_lines), font_size=8)
        timestamper = self.timestamper()
        try:
            return off_loop(lambda: signer.sign(pdf, reason=reason, location=location, stamp=stamp,
                                                timestamper=timestamper))
        except SigningError as exc:
            if _timestamp_failed(exc):
                raise OutputError(
                    "timestamp_unavailable",
                    f"ขอตราประทับเวลา (time stamp) จากผู้ให้บริการ {self.tsa_url} ไม่ได้ จึงลงนามเอกสารไม่สำเร็จ "
                    "และยังไม่ได้บันทึกการดำเนินการนี้ โปรดลองใหม่อีกครั้งภายหลัง หรือแจ้งผู้ดูแลระบบ",
                    f"no time stamp could be had from {self.tsa_url}, so the document was not signed and nothing "
                    "was recorded; try again later or tell the administrator") from exc
            raise OutputError(
                "signing_failed",
                f"ลงนามเอกสารไม่สำเร็จ จึงยังไม่ได้บันทึกการดำเนินการนี้: {exc.th}",
                f"the document could not be signed, so nothing was recorded: {exc.en}") from exc
