"""PDF pipeline benchmark: render, sign (kept key vs pyHanko's stock signer), verify.

    .venv/bin/python bench/bench_pdf.py [--runs 7]

Prints the median wall time of each step over several runs (after one warm-up
run) and its ratio to the stock-signer baseline measured in the same run.
The key is RSA 2048 (the default of ``eservice.certificates``).
"""
from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from eservice.certificates import create_agency_keys, platform_trust_roots
from eservice.renderers.pdf import render_pdf, render_template_pdf
from eservice.signing import DEFAULT_LOCATION, DEFAULT_REASON, PdfSigner, VisibleStamp, verify_pdf

UTC = timezone.utc

PAGE = """<h1>ใบอนุญาตประกอบกิจการที่เป็นอันตรายต่อสุขภาพ</h1>
<p>อาศัยอำนาจตามความในพระราชบัญญัติการสาธารณสุข พ.ศ. ๒๕๓๕ เจ้าพนักงานท้องถิ่นออกใบอนุญาตฉบับนี้ให้
บริษัท ปั้นดี จำกัด ประกอบกิจการร้านอาหารและเครื่องดื่ม ณ เลขที่ ๙๙/๙ ถนนสีลม แขวงสุริยวงศ์ เขตบางรัก
กรุงเทพมหานคร ที่นี่เป็นสถานที่ที่ได้รับการตรวจสอบแล้ว น้ำดื่มผ่านการกรองตามมาตรฐาน</p>"""


def summary_context() -> dict:
    rows = [
        {"label_th": f"คำถามข้อที่ {i}", "label_en": f"Question {i}",
         "value": "คำตอบภาษาไทยที่มีวรรณยุกต์ซ้อน ปั้นที่นี่ น้ำ"}
        for i in range(1, 21)
    ]
    return dict(
        agency={"th": "สำนักงานเขตบางรัก", "en": "Bang Rak District Office"},
        service_title={"th": "ขอใบอนุญาตจำหน่ายอาหาร", "en": "Food sale licence"},
        intake_number="123/2566", reference_code="K7Q2-9XRM-4TDA",
        received_at=datetime(2023, 1, 23, 1, 30, tzinfo=UTC),
        sections=[{"title": {"th": "คำขอ", "en": "Request"}, "rows": rows}],
        documents=[{"label_th": "สำเนาบัตร", "label_en": "ID card", "filename": "id.pdf", "size": 1000,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}],
        signature={"signer": "นางสาวปั้นหยา ที่นี่ดี", "signed_at": datetime(2023, 1, 22, 14, 33, tzinfo=UTC),
                   "declaration": {"th": "ข้าพเจ้าขอรับรองว่าข้อความเป็นความจริง", "en": "I certify this is true."},
                   "submission_hash": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
    )


def stock_sign(key_file: Path, cert_file: Path, ca_file: Path, pdf: bytes, *, load_each_time: bool,
               cached: list) -> bytes:
    """pyHanko as its documentation shows it: SimpleSigner.load + sign_pdf
    with pyHanko's defaults (no bytes_reserved, so it signs a dry run first)."""
    if load_each_time or not cached:
        cached[:] = [signers.SimpleSigner.load(str(key_file), str(cert_file), ca_chain_files=(str(ca_file),))]
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", reason=DEFAULT_REASON, location=DEFAULT_LOCATION,
        certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=cached[0]).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out
    )
    return out.getvalue()


def timed(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs

    with tempfile.TemporaryDirectory() as tmp:
        keys = create_agency_keys(tmp, "bench", org_name_th="สำนักงานเขตบางรัก", org_name_en="Bang Rak")
        folder = keys.folder
        roots = platform_trust_roots(tmp)
        one_page = render_pdf(PAGE)
        signer = PdfSigner.from_agency_keys(keys)
        signed = signer.sign(one_page)
        cache: list = []

        rows: list[tuple[str, float]] = []
        rows.append(("render one page (WeasyPrint)", timed(lambda: render_pdf(PAGE), runs)))
        rows.append(("render submission summary (2 pages)",
                     timed(lambda: render_template_pdf("submission_summary.html", **summary_context()), runs)))
        baseline = timed(lambda: stock_sign(folder / "signing-key.pem", folder / "signing-cert.pem",
                                            folder / "ca.pem", one_page, load_each_time=False, cached=cache), runs)
        rows.append(("sign, stock SimpleSigner (baseline)", baseline))
        rows.append(("sign, stock SimpleSigner.load per call",
                     timed(lambda: stock_sign(folder / "signing-key.pem", folder / "signing-cert.pem",
                                              folder / "ca.pem", one_page, load_each_time=True, cached=cache),
                           runs)))
        rows.append(("sign, PdfSigner kept key (invisible)", timed(lambda: signer.sign(one_page), runs)))
        rows.append(("sign, PdfSigner visible Thai stamp",
                     timed(lambda: signer.sign(one_page, stamp=VisibleStamp()), runs)))
        rows.append(("verify_pdf (1 signature, hard-fail)", timed(lambda: verify_pdf(signed, roots), runs)))

    print(f"PDF pipeline, median of {runs} runs (RSA 2048, A4, Sarabun)")
    print(f"{'step':<42} {'ms':>9} {'÷ baseline':>11}")
    for name, ms in rows:
        print(f"{name:<42} {ms:>9.1f} {ms / baseline:>10.2f}×")


if __name__ == "__main__":
    main()
