"""Issued documents benchmark (issue #7): render + sign a licence, and verify it,
beside pyHanko's stock signer and validator in the same run.

    .venv/bin/python bench/bench_outputs.py [--runs 7]

Every signature here is what the platform issues: PAdES B-T (an RFC 3161 time
stamp from a real time-stamp server on loopback, ``tests/tsa_server.py``), a
visible Thai stamp and the QR code on the page.  The licence is the food-shop
licence of the example definitions, with sample answers.  Prints the median
wall time of each step over several runs (after one warm-up run) and its
ratio to the stock baseline measured in the same run:

* "stock": pyHanko as its documentation shows it — ``SimpleSigner.load`` once,
  ``PdfSigner.sign_pdf`` with a ``TextStampStyle`` stamp and an
  ``HTTPTimeStamper``, no ``bytes_reserved`` (so it signs a dry run to size
  the signature); ``validate_pdf_signature`` with a ``ValidationContext``.
* "platform": :class:`eservice.outputs.Outputs` (render the template, QR code,
  kept key, fixed reserve, the same stamp text and time stamp, store the file)
  and the platform's verifier (:func:`eservice.signing.verify_pdf`).

The goal set in the issue is render + sign <= 60 ms and verify <= 20 ms per
licence; WeasyPrint's layout of a one-page Thai document alone takes longer
on a 2-core machine, so the rows show where the time goes.  WeasyPrint
subsets fonts with HarfBuzz when ``libharfbuzz-subset0`` is installed and with
fontTools otherwise (about 0.4 s more per document); the first line says which.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from tsa_server import TsaServer  # noqa: E402  (a real RFC 3161 server on loopback)

from eservice import forms  # noqa: E402
from eservice.certificates import create_agency_keys, platform_trust_roots  # noqa: E402
from eservice.files import FileStore  # noqa: E402
from eservice.outputs import Outputs  # noqa: E402
from eservice.outputs.context import document_context, sample_answers  # noqa: E402
from eservice.outputs.render import qr_data_uri, render_document  # noqa: E402
from eservice.policy import Actor  # noqa: E402
from eservice.signing import DEFAULT_LOCATION, DEFAULT_REASON, verify_pdf  # noqa: E402
from eservice.spec.loader import load_or_raise  # noqa: E402

STAMP_LINES = ["ลงนามโดย นายสมศักดิ์ ลงนาม", "นายกเทศมนตรีนครนนทบุรี เจ้าพนักงานท้องถิ่น",
               "วันที่ 15 มิถุนายน 2569 เวลา 10:00 น.", "Signed 15 June 2026, 10:00 (UTC+07:00)"]


def timed(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def stock_sign(stock: signers.SimpleSigner, pdf: bytes, box, tsa_url: str) -> bytes:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    from eservice.renderers.fonts import find_thai_font

    page, (x1, y1, x2, y2) = box
    style = TextStampStyle(stamp_text="%(stamp_text)s", text_box_style=TextBoxStyle(
        font=GlyphAccumulatorFactory(str(find_thai_font().regular), font_size=8, bcp47_lang_code="th"),
        font_size=8, leading=13), border_width=1, background=None)
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", reason=DEFAULT_REASON, location=DEFAULT_LOCATION, certify=True,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS, subfilter=fields.SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(
        meta, signer=stock, timestamper=HTTPTimeStamper(tsa_url), stamp_style=style,
        new_field_spec=fields.SigFieldSpec("Signature1", on_page=page,
                                           box=(round(x1), round(y1), round(x2), round(y2))),
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out,
               appearance_text_params={"stamp_text": "\n".join(STAMP_LINES)})
    return out.getvalue()


def stock_verify(data: bytes, roots) -> bool:
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    trust = [asn1_x509.Certificate.load(x509.load_pem_x509_certificate(r).public_bytes(Encoding.DER))
             for r in roots]
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(data)).embedded_signatures[0],
                                    signer_validation_context=ValidationContext(trust_roots=trust))
    return status.bottom_line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs

    catalogue = load_or_raise([ROOT / "service_definitions"])
    service = catalogue.latest("food-shop-permit")
    licence = next(x for x in service.definition.outputs.licences if x.id == "food_licence")
    answers = sample_answers(service)
    values = forms.Evaluation(service, answers).values
    record = {"id": "app-0000000000000001", "agency": "nonthaburi-city", "reference": "ABCD-EFGH-JKLM",
              "intake_number": "12/2569", "answers": answers}
    actor = Actor(user_id="u-sign", name="นายสมศักดิ์ ลงนาม")

    with tempfile.TemporaryDirectory() as tmp, TsaServer() as tsa:
        keys = create_agency_keys(tmp, "nonthaburi-city", org_name_th="เทศบาลนครนนทบุรี",
                                  org_name_en="Nonthaburi City Municipality")
        outputs = Outputs(FileStore(Path(tmp) / "files"), tmp, base_url="https://eservice.example.go.th",
                          tsa_url=tsa.url)
        roots = [*platform_trust_roots(tmp), tsa.ca_pem]
        issue = lambda: outputs.issue_licence(record, service, licence, actor, {}, values, "สอ.0001/2569")  # noqa: E731
        doc = issue()
        assert verify_pdf(doc.pdf, roots, allow_fetching=False).valid
        context_pdf, box = None, None

        def render():
            nonlocal context_pdf, box
            url = outputs.verify_url(number="สอ.0001/2569")
            context = document_context(
                record=record, service=service, output=licence, kind="licence", inputs={}, calculations=values,
                issued_on=dt.date(2026, 6, 15), signer={"name": actor.name, "position": licence.signed_as},
                document_id="doc-bench", verify_url=url, verify_qr=qr_data_uri(url), number="สอ.0001/2569")
            context_pdf, box = render_document(service, licence, context)

        render()
        folder = keys.folder
        stock = signers.SimpleSigner.load(str(folder / "signing-key.pem"), str(folder / "signing-cert.pem"),
                                          ca_chain_files=(str(folder / "ca.pem"),))
        stock_signed = stock_sign(stock, context_pdf, box, tsa.url)
        assert stock_verify(stock_signed, roots)

        rows: list[tuple[str, float, str]] = []
        render_ms = timed(render, runs)
        stock_ms = timed(lambda: stock_sign(stock, context_pdf, box, tsa.url), runs)
        sign_ms = timed(lambda: outputs.signers.sign("nonthaburi-city", context_pdf, reason="bench",
                                                     location="นนทบุรี", stamp_lines=STAMP_LINES,
                                                     stamp_box=box), runs)
        issue_ms = timed(issue, runs)
        rows.append(("render licence (template, QR, WeasyPrint)", render_ms, ""))
        rows.append(("sign B-T + stamp, stock pyHanko", stock_ms, "baseline"))
        rows.append(("sign B-T + stamp, platform", sign_ms, f"{sign_ms / stock_ms:.2f}×"))
        rows.append(("render + stock sign", render_ms + stock_ms, "baseline"))
        rows.append(("render + sign + store, platform (issue_licence)", issue_ms,
                     f"{issue_ms / (render_ms + stock_ms):.2f}×"))
        stock_verify_ms = timed(lambda: stock_verify(doc.pdf, roots), runs)
        verify_ms = timed(lambda: verify_pdf(doc.pdf, roots, allow_fetching=False), runs)
        rows.append(("verify, stock validate_pdf_signature", stock_verify_ms, "baseline"))
        rows.append(("verify, platform verify_pdf", verify_ms, f"{verify_ms / stock_verify_ms:.2f}×"))

    from weasyprint.text import ffi

    subsetter = "HarfBuzz" if getattr(ffi, "harfbuzz_subset", None) is not None \
        else "fontTools (slow: install libharfbuzz-subset0)"
    print(f"Issued documents, median of {runs} runs (RSA 2048, A4, Sarabun, PAdES B-T via loopback TSA)")
    print(f"font subsetting by {subsetter}")
    print(f"{'step':<50} {'ms':>9} {'vs stock':>9}")
    for name, ms, ratio in rows:
        print(f"{name:<50} {ms:>9.1f} {ratio:>9}")
    print("goal (issue #7): render + sign <= 60 ms, verify <= 20 ms")


if __name__ == "__main__":
    main()
