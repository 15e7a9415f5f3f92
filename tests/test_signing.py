"""Organisation certificates, PAdES signing and signature verification.

# R: IS-1  licences and letters are signed electronically
# R: IS-2  the organisation certificate installed in the system certifies documents
# R: PR-8  a PDF signed by a trusted CA is accepted once software has verified it
"""
from __future__ import annotations

import asyncio
import io
import os
import re
import stat
from datetime import datetime, timedelta, timezone

import pluggy
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText

from eservice import signing
from eservice.certificates import (
    CertificateError,
    create_agency_keys,
    ensure_agency_keys,
    load_agency_keys,
    platform_trust_roots,
)
from eservice.renderers.pdf import render_pdf
from eservice.signing import (
    PdfSigner,
    SigningError,
    VerificationError,
    VisibleStamp,
    verify_pdf,
)

UTC = timezone.utc


# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def keys(data_dir):
    return create_agency_keys(
        data_dir, "bangrak", org_name_th="สำนักงานเขตบางรัก", org_name_en="Bang Rak District Office"
    )


@pytest.fixture(scope="module")
def signer(keys):
    return keys.signer()


@pytest.fixture(scope="module")
def roots(data_dir, keys):
    return platform_trust_roots(data_dir)


@pytest.fixture(scope="module")
def document():
    return render_pdf("<h1>ใบอนุญาต</h1><p>ผู้รับใบอนุญาต บริษัท ปั้นดี จำกัด</p>")


@pytest.fixture(scope="module")
def signed(signer, document):
    return signer.sign(document)


def self_signed_pem(name: str = "ผู้ลงนามนิรนาม"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def incremental(data: bytes, change) -> bytes:
    """Apply *change(writer)* as an incremental update (the signed bytes stay as they are)."""
    writer = PdfWriter(io.BytesIO(data), incremental=True)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    result = out.getvalue()
    assert result.startswith(data)  # really appended, not rewritten
    return result


# --------------------------------------------------------------------------- #
# Organisation certificate (IS-2)
# --------------------------------------------------------------------------- #


def test_agency_keys_are_pem_files_with_private_keys_mode_0600(keys):  # R: IS-2
    folder = keys.folder
    assert folder.name == "bangrak" and folder.parent.name == "keys"
    for name in ("signing-key.pem", "ca-key.pem"):
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600, name
    for name in ("signing-cert.pem", "ca.pem"):
        assert (folder / name).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_signing_certificate_names_the_agency_in_thai_and_is_for_signing(keys):  # R: IS-2
    cert = x509.load_pem_x509_certificate(keys.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "สำนักงานเขตบางรัก"
    usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert not cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    ca = x509.load_pem_x509_certificate(keys.ca_pem)
    assert cert.issuer == ca.subject
    assert ca.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    cert.verify_directly_issued_by(ca)


def test_long_thai_agency_names_fit_the_64_byte_common_name(tmp_path):
    name = "สำนักงานคณะกรรมการพัฒนาระบบราชการ กระทรวงมหาดไทย"
    keys = create_agency_keys(tmp_path, "long", org_name_th=name, key_type="ec")
    cert = x509.load_pem_x509_certificate(keys.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == name
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert 0 < len(cn.encode()) <= 64 and name.startswith(cn)


def test_existing_keys_are_loaded_not_replaced(data_dir, keys):
    again = load_agency_keys(data_dir, "bangrak")
    assert again.key_pem == keys.key_pem and again.chain_pems == keys.chain_pems
    assert ensure_agency_keys(data_dir, "bangrak", org_name_th="อื่น").cert_pem == keys.cert_pem
    with pytest.raises(CertificateError):
        create_agency_keys(data_dir, "bangrak", org_name_th="อื่น")


def test_unsafe_agency_id_and_missing_or_exposed_keys_are_errors(tmp_path):
    with pytest.raises(CertificateError):
        create_agency_keys(tmp_path, "../etc", org_name_th="ก")
    with pytest.raises(CertificateError) as info:
        load_agency_keys(tmp_path, "nobody")
    assert "signing-key.pem" in info.value.en
    k = create_agency_keys(tmp_path, "open", org_name_th="หน่วยงาน", key_type="ec")
    os.chmod(k.folder / "signing-key.pem", 0o644)
    with pytest.raises(CertificateError) as info:
        load_agency_keys(tmp_path, "open")
    assert "chmod 600" in info.value.en


def test_encrypted_key_needs_its_password(tmp_path):
    k = create_agency_keys(tmp_path, "enc", org_name_th="หน่วยงาน", key_type="ec", key_password=b"s3cret")
    assert b"ENCRYPTED" in k.key_pem
    with pytest.raises(SigningError):
        PdfSigner(k.key_pem, k.cert_pem, k.chain_pems)
    PdfSigner(k.key_pem, k.cert_pem, k.chain_pems, key_password=b"s3cret")


def test_key_that_does_not_match_the_certificate_is_refused(keys):
    other_key, _ = self_signed_pem()
    with pytest.raises(SigningError) as info:
        PdfSigner(other_key, keys.cert_pem, keys.chain_pems)
    assert "does not match" in info.value.en


# --------------------------------------------------------------------------- #
# Signing and verifying (IS-1, IS-2, PR-8)
# --------------------------------------------------------------------------- #


def test_signed_document_verifies_valid_trusted_intact(signed, roots):  # R: IS-1, IS-2, PR-8
    result = verify_pdf(signed, roots)
    assert result.valid and result.trusted and result.intact
    assert not result.modified_after_signing and result.problems == []
    assert result.signer == "สำนักงานเขตบางรัก"
    assert abs(result.signed_at - datetime.now(UTC)) < timedelta(minutes=5)
    (only,) = result.signatures
    assert only.certified and only.modification_level == "none"


def test_signature_is_pades_with_thai_reason_and_location(signed):  # R: IS-2
    reader = PdfReader(io.BytesIO(signed))
    sig = reader.trailer["/Root"]["/AcroForm"]["/Fields"][0].get_object()["/V"].get_object()
    assert sig["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig["/Reason"] == signing.DEFAULT_REASON and sig["/Location"] == "ประเทศไทย"
    # certification signature (DocMDP): readers show the document as certified
    assert "/DocMDP" in reader.trailer["/Root"]["/Perms"]


def test_the_original_bytes_are_kept_and_signing_is_an_append(signed, document):
    assert signed.startswith(document)


def test_flipped_byte_in_signed_content_is_invalid(signed, roots):  # R: PR-8
    # flip one byte inside the first content stream, which the signature covers
    start = signed.index(b"stream", signed.index(b"/Length")) + len(b"stream\n") + 10
    tampered = bytearray(signed)
    tampered[start] ^= 0x01
    result = verify_pdf(bytes(tampered), roots)
    assert not result.intact and not result.valid
    assert signing.ALTERED in result.problems


def test_flipped_byte_in_the_signature_value_is_invalid(signed, roots):
    # /Contents holds the hex CMS blob; its signature value is the last 256
    # bytes of the DER (RSA-2048), followed by zero padding.
    m = re.search(rb"/Contents\s*<([0-9a-fA-F]+)>", signed)
    der_hex = m.group(1).rstrip(b"0")
    pos = m.start(1) + len(der_hex) - 100
    tampered = bytearray(signed)
    tampered[pos] = ord("0") if tampered[pos] != ord("0") else ord("1")
    result = verify_pdf(bytes(tampered), roots)
    assert not result.valid
    assert result.signatures[0].signature_ok is False or result.problems


def test_page_added_after_signing_is_reported_as_modified(signed, roots):  # R: PR-8
    updated = incremental(signed, lambda w: w.add_blank_page(595, 842))
    result = verify_pdf(updated, roots)
    assert result.intact and result.trusted  # the signed revision itself is fine…
    assert result.modified_after_signing and not result.valid  # …but the document changed
    assert signing.MODIFIED in result.problems


def test_annotation_added_after_signing_is_reported_as_modified(signed, roots):  # R: PR-8
    note = FreeText(text="อนุมัติแล้ว", rect=(50, 700, 300, 740))
    updated = incremental(signed, lambda w: w.add_annotation(page_number=0, annotation=note))
    result = verify_pdf(updated, roots)
    assert result.intact and result.modified_after_signing and not result.valid


def test_content_drawn_on_the_page_after_signing_is_reported_as_modified(signed, roots):
    def draw(writer):
        from pypdf.generic import ContentStream, DecodedStreamObject, NameObject

        page = writer.pages[0]
        extra = DecodedStreamObject()
        extra.set_data(b"q 1 0 0 rg 50 50 200 100 re f Q")
        contents = page.get_contents()
        merged = ContentStream(None, None)
        merged.set_data((contents.get_data() if contents else b"") + b"\n" + extra.get_data())
        page[NameObject("/Contents")] = writer._add_object(merged)

    result = verify_pdf(incremental(signed, draw), roots)
    assert result.intact and result.modified_after_signing and not result.valid


def test_a_second_signature_is_an_allowed_change(tmp_path, signed, roots):
    # positive control for the modification checks: a later signature is not
    # "modified after signing" (A-L4: a signing authority countersigns).
    other = create_agency_keys(tmp_path, "authority", org_name_th="ผู้มีอำนาจลงนาม", key_type="ec")
    countersigned = other.signer().sign(signed)
    result = verify_pdf(countersigned, [*roots, other.ca_pem])
    assert [s.field_name for s in result.signatures] == ["Signature1", "Signature2"]
    assert not result.signatures[1].certified  # the second one is an approval signature
    assert result.valid and not result.modified_after_signing, result.problems


def test_self_signed_certificate_is_not_trusted(document, roots):  # R: PR-8
    key_pem, cert_pem = self_signed_pem()
    stranger = PdfSigner(key_pem, cert_pem)
    signed_by_stranger = stranger.sign(document)
    result = verify_pdf(signed_by_stranger, roots)
    assert result.intact and not result.trusted and not result.valid
    assert signing.UNTRUSTED in result.problems
    # control: the same document is trusted when its certificate is a root
    assert verify_pdf(signed_by_stranger, [cert_pem]).valid


def test_another_agencys_ca_does_not_make_a_document_trusted(tmp_path, signed):
    other = create_agency_keys(tmp_path, "other", org_name_th="หน่วยงานอื่น", key_type="ec")
    assert not verify_pdf(signed, [other.ca_pem]).trusted
    assert not verify_pdf(signed, []).trusted  # an empty list trusts nobody


def test_trust_roots_must_be_explicit(signed):
    with pytest.raises(TypeError):
        verify_pdf(signed, None)


def test_revocation_hard_fail_refuses_what_soft_fail_would_accept(tmp_path, document):
    """The deliberate default: a certificate that names a CRL whose status
    cannot be obtained is not trusted in hard-fail, but soft-fail lets it pass."""
    ca_keys = create_agency_keys(tmp_path, "crlca", org_name_th="CA ทดสอบ", key_type="ec")
    ca_key = serialization.load_pem_private_key((ca_keys.folder / "ca-key.pem").read_bytes(), None)
    ca = x509.load_pem_x509_certificate(ca_keys.ca_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "มีจุดแจกจ่าย CRL")]))
        .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier("http://127.0.0.1:9/ca.crl")], None, None, None)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pdf = PdfSigner(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.PEM), [ca_keys.ca_pem],
    ).sign(document)
    hard = verify_pdf(pdf, [ca_keys.ca_pem], allow_fetching=False)
    assert not hard.trusted and not hard.valid
    assert signing.REVOCATION_UNKNOWN in hard.problems
    soft = verify_pdf(pdf, [ca_keys.ca_pem], revocation="soft-fail", allow_fetching=False)
    assert soft.trusted and soft.valid
    with pytest.raises(ValueError):
        verify_pdf(pdf, [ca_keys.ca_pem], revocation="lenient")


def test_unsigned_pdf_is_not_valid(document, roots):
    result = verify_pdf(document, roots)
    assert not result.valid and result.signatures == []
    assert result.problems == [signing.NO_SIGNATURE]


@pytest.mark.parametrize("data", [b"", b"hello, not a pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100])
def test_non_pdf_input_is_a_clear_error(data, roots, signer):
    with pytest.raises(VerificationError) as info:
        verify_pdf(data, roots)
    assert info.value.th and "not a PDF" in info.value.en
    with pytest.raises(SigningError):
        signer.sign(data)


def test_damaged_pdf_is_a_clear_error(signed, roots, signer):
    broken = b"%PDF-1.7\n" + b"garbage " * 50
    with pytest.raises(VerificationError) as info:
        verify_pdf(broken, roots)
    assert "damaged" in info.value.en
    with pytest.raises(SigningError):
        signer.sign(broken)


def test_signer_keeps_the_parsed_key(monkeypatch, keys, document, roots):
    """The stock pyHanko signer re-parses the key for every signature; ours
    must not (that is what makes it ~7× faster)."""
    from pyhanko.sign.signers import pdf_cms

    signer = keys.signer()

    def no_parsing(*args, **kwargs):
        raise AssertionError("the private key was parsed again while signing")

    monkeypatch.setattr(pdf_cms.serialization, "load_der_private_key", no_parsing)
    assert verify_pdf(signer.sign(document), roots).valid


def test_ec_keys_sign_too(tmp_path, document):
    k = create_agency_keys(tmp_path, "ecagency", org_name_th="หน่วยงาน EC", key_type="ec")
    assert verify_pdf(k.signer().sign(document), [k.ca_pem]).valid


def test_visible_thai_stamp_uses_1_6_line_spacing(signer, document, roots):  # R: IS-1
    stamped = signer.sign(document, stamp=VisibleStamp(font_size=10))
    assert verify_pdf(stamped, roots).valid
    reader = PdfReader(io.BytesIO(stamped))
    widget = reader.pages[-1]["/Annots"][0].get_object()
    assert [round(float(v)) for v in widget["/Rect"]] == list(VisibleStamp().box)
    appearance = widget["/AP"]["/N"].get_object()
    streams = [appearance.get_data()]
    for xobj in appearance.get("/Resources", {}).get("/XObject", {}).values():
        streams.append(xobj.get_object().get_data())
    content = b"\n".join(streams)
    assert re.search(rb"(^|\s)16 TL", content), content[:400]  # 10 pt × 1.6
    # the Thai is shaped and marked with its real text (ActualText) for copy/search
    assert "ลงลายมือชื่อดิจิทัลโดย".encode("utf-16-be") in content or b"/ActualText" in content


def test_stamp_on_a_missing_page_is_an_error(signer, document):
    with pytest.raises(SigningError):
        signer.sign(document, stamp=VisibleStamp(page=5))


# --------------------------------------------------------------------------- #
# The document-verifier plugin (PR-8)
# --------------------------------------------------------------------------- #


def _plugin_manager():
    from eservice.plugin_api import HookSpecs
    from eservice.plugins import pdf_signature_verifier

    pm = pluggy.PluginManager("eservice")
    pm.add_hookspecs(HookSpecs)
    pm.register(pdf_signature_verifier, name="pdf_signature_verifier")
    return pm


def test_plugin_registers_the_pdf_signature_verifier():
    from eservice.plugin_api import DocumentVerifier, document_verifiers

    verifiers = document_verifiers(_plugin_manager())
    verifier = verifiers["pdf_signature"]
    assert isinstance(verifier, DocumentVerifier)
    assert verifier.media_types == ("application/pdf",)


def test_plugin_accepts_a_document_signed_by_a_trusted_ca(data_dir, signed, document):  # R: PR-8
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier

    verifier = PdfSignatureVerifier(data_dir=data_dir)
    ok = verifier.verify(signed, filename="licence.pdf", media_type="application/pdf")
    assert ok.ok and ok.messages == []
    assert ok.details["signer"] == "สำนักงานเขตบางรัก" and ok.details["trusted"]
    unsigned = verifier.verify(document)
    assert not unsigned.ok and unsigned.messages[0].code == "pdf_signature.unsigned"


def test_plugin_reads_the_platform_ca_from_eservice_data(monkeypatch, data_dir, signed, tmp_path):
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier

    monkeypatch.setenv("ESERVICE_DATA", str(data_dir))
    assert PdfSignatureVerifier().verify(signed).ok
    monkeypatch.setenv("ESERVICE_DATA", str(tmp_path))  # another installation
    refused = PdfSignatureVerifier().verify(signed)
    assert not refused.ok and "pdf_signature.untrusted" in [m.code for m in refused.messages]


def test_plugin_never_raises_on_bad_input(data_dir):
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier

    result = PdfSignatureVerifier(data_dir=data_dir).verify(b"not a pdf", filename="x.pdf")
    assert not result.ok and result.messages[0].code == "pdf_signature.unreadable_file"
    assert result.messages[0].th and result.messages[0].en


def test_plugin_works_inside_a_running_event_loop(data_dir, signed):
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier

    async def handler():  # e.g. a Starlette endpoint calling the sync API
        return PdfSignatureVerifier(data_dir=data_dir).verify(signed)

    assert asyncio.run(handler()).ok


def test_bundled_trust_roots_are_read_from_pem_files(tmp_path, signed, keys):
    from eservice.plugins.pdf_signature_verifier import PdfSignatureVerifier, bundled_trust_roots

    assert bundled_trust_roots(tmp_path) == []
    (tmp_path / "README.md").write_text("not a certificate")
    (tmp_path / "agency.pem").write_bytes(keys.ca_pem)
    assert bundled_trust_roots(tmp_path) == [keys.ca_pem]
    verifier = PdfSignatureVerifier(data_dir=tmp_path / "empty", bundle_dir=tmp_path)
    assert verifier.verify(signed).ok
