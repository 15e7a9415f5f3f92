"""Document verifiers run when a file is attached (PR-8).

A service's ``documents[].verifiers`` names verifier plugins; ``Applications.attach``
runs them on the stored file and keeps the outcome with the document.  A PDF
signed with a certificate from a trusted CA (here: the platform's own
organisation CA under ``ESERVICE_DATA``) is ``ok``; an unsigned PDF or one signed
with an untrusted key is not, and says why.  Verification never blocks the
upload: a verifier that raises is recorded as "could not run".  The officer sees
the outcome next to each document.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import test_web_officer as web
from eservice.certificates import create_agency_keys
from eservice.plugin_api import Message, Verification, get_plugin_manager, hookimpl
from eservice.policy import Actor
from eservice.renderers.pdf import render_pdf
from eservice.signing import PdfSigner

SIGNER_TH = "สำนักงานเขตทดสอบ"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def trust_dir(tmp_path_factory) -> Path:
    """An installation's data folder holding one agency's organisation CA."""
    folder = tmp_path_factory.mktemp("trust")
    create_agency_keys(folder, "test-agency", org_name_th=SIGNER_TH, org_name_en="Test District Office")
    return folder


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    return render_pdf("<h1>สำเนาทะเบียนบ้าน</h1><p>เอกสารทดสอบ</p>")


@pytest.fixture(scope="module")
def trusted_pdf(trust_dir, unsigned_pdf) -> bytes:
    from eservice.certificates import load_agency_keys

    return load_agency_keys(trust_dir, "test-agency").signer().sign(unsigned_pdf)


@pytest.fixture(scope="module")
def untrusted_pdf(unsigned_pdf) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ผู้ลงนามนิรนาม")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return PdfSigner(key_pem, cert.public_bytes(serialization.Encoding.PEM)).sign(unsigned_pdf)


class Exploding:
    """A verifier plugin that always raises."""

    name = "exploding_check"
    media_types = ("application/pdf",)

    def verify(self, data, *, filename="", media_type=""):
        raise RuntimeError("boom")


class PngOnly:
    """A verifier for images only: never run on a PDF."""

    name = "png_only"
    media_types = ("image/png",)

    def verify(self, data, *, filename="", media_type=""):
        return Verification(ok=True, messages=[Message("png.ok", "ดี", "fine")])


class _VerifierPlugin:
    @hookimpl
    def eservice_document_verifiers(self):
        return [Exploding(), PngOnly()]


@pytest.fixture
def extra_verifiers():
    pm = get_plugin_manager()
    plugin = _VerifierPlugin()
    pm.register(plugin, name="test_verifiers_on_upload")
    try:
        yield
    finally:
        pm.unregister(plugin)


def _world(tmp_path, monkeypatch, trust_dir, verifiers: list[str]) -> web.World:
    """The officers' test world, with ``floor_plan`` declaring ``verifiers``."""
    monkeypatch.setenv("ESERVICE_DATA", str(trust_dir))
    original = web.make_definitions

    def with_verifiers(root: Path) -> Path:
        defs = original(root)
        path = defs / "test-agency" / "minimal.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["documents"][0]["verifiers"] = verifiers
        web._write(path, data)
        return defs

    monkeypatch.setattr(web, "make_definitions", with_verifiers)
    world = web.World(tmp_path)
    world.officer("reviewer", ("test-agency", "reviewer"))
    return world


def _attach(world: web.World, data: bytes, filename: str = "สำเนา.pdf", media_type: str = "application/pdf",
            record: dict | None = None) -> dict:
    actor = Actor(user_id=world.citizen["id"], name="สมชาย ใจดี", ip="203.0.113.9", user_agent="pytest")
    if record is None:
        record = world.apps.start("minimal-permit", actor)
    sha = world.engine.files.put(data)
    return world.apps.attach(record["id"], actor, "floor_plan", {
        "sha256": sha, "filename": filename, "media_type": media_type, "size": len(data)})


def _verifications(record: dict) -> list[dict]:
    (item,) = record["documents"]["floor_plan"]
    return item["verifications"]


# --------------------------------------------------------------------------- tests
def test_pdf_signed_by_a_trusted_ca_is_recorded_valid(tmp_path, monkeypatch, trust_dir, trusted_pdf):  # R: PR-8
    world = _world(tmp_path, monkeypatch, trust_dir, ["pdf_signature"])
    record = _attach(world, trusted_pdf)
    (v,) = _verifications(record)
    assert v["verifier"] == "pdf_signature" and v["ok"] is True and v["messages"] == []
    assert v["details"]["signer"] == SIGNER_TH and v["details"]["trusted"] is True
    assert v["at"] == world.engine.now_iso()
    # stored, not just returned
    assert _verifications(world.get(record["id"])) == [v]


def test_unsigned_pdf_is_recorded_not_ok_and_kept(tmp_path, monkeypatch, trust_dir, unsigned_pdf):  # R: PR-8
    world = _world(tmp_path, monkeypatch, trust_dir, ["pdf_signature"])
    record = _attach(world, unsigned_pdf)
    (v,) = _verifications(record)
    assert v["ok"] is False
    assert [m["code"] for m in v["messages"]] == ["pdf_signature.unsigned"]
    assert all(m["th"] and m["en"] for m in v["messages"])
    assert world.engine.files.exists(record["documents"]["floor_plan"][0]["sha256"])


def test_pdf_signed_with_an_untrusted_key_is_recorded_not_ok(tmp_path, monkeypatch, trust_dir,
                                                            untrusted_pdf):  # R: PR-8
    world = _world(tmp_path, monkeypatch, trust_dir, ["pdf_signature"])
    (v,) = _verifications(_attach(world, untrusted_pdf))
    assert v["ok"] is False
    assert "pdf_signature.untrusted" in [m["code"] for m in v["messages"]]
    assert v["details"]["signer"] == "ผู้ลงนามนิรนาม" and v["details"]["trusted"] is False


def test_a_verifier_that_raises_is_recorded_and_the_upload_kept(tmp_path, monkeypatch, trust_dir, trusted_pdf,
                                                                extra_verifiers):  # R: PR-8
    world = _world(tmp_path, monkeypatch, trust_dir, ["exploding_check", "png_only", "pdf_signature"])
    record = _attach(world, trusted_pdf)
    results = {v["verifier"]: v for v in _verifications(record)}
    assert set(results) == {"exploding_check", "pdf_signature"}  # png_only: not for PDFs
    boom = results["exploding_check"]
    assert boom["ok"] is False and boom["details"] == {}
    assert boom["messages"] == [{"code": "verifier.error", "th": "ตรวจสอบไม่สำเร็จ",
                                 "en": "verification could not run"}]
    assert results["pdf_signature"]["ok"] is True  # the others still ran
    assert record["documents"]["floor_plan"][0]["filename"] == "สำเนา.pdf"


def test_documents_without_verifiers_get_no_verifications(tmp_path, monkeypatch, trust_dir, trusted_pdf):
    world = _world(tmp_path, monkeypatch, trust_dir, [])
    record = _attach(world, trusted_pdf)
    assert "verifications" not in record["documents"]["floor_plan"][0]


def test_officer_sees_the_outcome_next_to_each_document(tmp_path, monkeypatch, trust_dir, trusted_pdf,
                                                        unsigned_pdf):  # R: PR-8, A-R2
    world = _world(tmp_path, monkeypatch, trust_dir, ["pdf_signature"])
    signed = world.submit(attach=trusted_pdf)
    plain = world.submit(attach=unsigned_pdf)
    reviewer = world.client("reviewer")

    html = reviewer.get(f"/officer/applications/{signed['id']}").text
    assert "ลายมือชื่อดิจิทัลถูกต้อง" in html and SIGNER_TH in html

    html = reviewer.get(f"/officer/applications/{plain['id']}").text
    assert "ลายมือชื่อดิจิทัลถูกต้อง" not in html
    assert "ตรวจสอบอัตโนมัติไม่ผ่าน" in html
    assert plain["documents"]["floor_plan"][0]["verifications"][0]["messages"][0]["th"] in html


def test_applicant_sees_a_valid_signature_on_the_documents_page(tmp_path, monkeypatch, trust_dir, trusted_pdf,
                                                                unsigned_pdf):  # R: PR-8
    world = _world(tmp_path, monkeypatch, trust_dir, ["pdf_signature"])
    signed = _attach(world, trusted_pdf)
    plain = _attach(world, unsigned_pdf)
    citizen = world.client("citizen")
    assert "ลายมือชื่อดิจิทัลถูกต้อง" in citizen.get(f"/applications/{signed['id']}/documents").text
    page = citizen.get(f"/applications/{plain['id']}/documents")
    assert page.status_code == 200 and "ลายมือชื่อดิจิทัลถูกต้อง" not in page.text
