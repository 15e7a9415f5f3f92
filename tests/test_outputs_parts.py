"""The parts of issuing documents (issue #7): template checks at ``eservice
check`` time, validity dates, the ``eservice keys`` command, demo keys, and
the submission summary that says when it is not signed.

R: A-L2, A-L5, IS-1, IS-2, A-SP4.
"""
from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from eservice.certificates import CertificateError, import_pkcs12, load_agency_keys
from eservice.cli import main
from eservice.outputs import valid_until
from eservice.spec.loader import load
from eservice.spec.models import Validity

DEFINITIONS = Path(__file__).resolve().parent.parent / "service_definitions"


# --------------------------------------------------------------------------- eservice check
@pytest.fixture
def defs(tmp_path) -> Path:
    copy = tmp_path / "defs"
    shutil.copytree(DEFINITIONS, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_templates_pass_the_check(defs):  # R: A-SP4
    _catalogue, problems = load([defs])
    assert problems == []


def test_a_typo_in_a_licence_template_is_a_check_problem_with_file_and_line(defs):  # R: A-L2, A-SP4
    template = defs / "nonthaburi-city" / "templates" / "food_licence.html"
    edit(template, "{{ licence.number }}</strong>", "{{ licence.numbr }}</strong>")
    _catalogue, problems = load([defs])
    [problem] = problems
    assert problem.file.endswith("food-shop-permit.yaml") and problem.path.endswith("template")
    assert "food_licence.html" in problem.en and "numbr" in problem.en and "line " in problem.en


def test_an_input_the_transition_does_not_give_is_a_check_problem(defs):  # R: A-L2
    # the rejection letter reads `input.reason`; `input.grounds` is given by no transition that issues it
    edit(defs / "nonthaburi-city" / "templates" / "food_rejection_letter.html",
         "{{ input.reason }}", "{{ input.grounds }}")
    _catalogue, problems = load([defs])
    assert len(problems) == 1 and "grounds" in problems[0].en


def test_an_optional_answer_used_without_a_guard_is_a_check_problem(defs):  # R: A-L2
    # `seats` is optional: a licence printing it unguarded would fail for a shop without seats
    edit(defs / "nonthaburi-city" / "templates" / "food_licence.html",
         "{% if a.seats is defined and a.seats %} จำนวนที่นั่ง {{ a.seats }} ที่นั่ง{% endif %}",
         " จำนวนที่นั่ง {{ a.seats }} ที่นั่ง")
    _catalogue, problems = load([defs])
    assert len(problems) == 1 and "seats" in problems[0].en and "required answers" in problems[0].en


def test_a_template_without_the_stamp_place_is_a_check_problem(defs):  # R: IS-2
    (defs / "nonthaburi-city" / "templates" / "referral_letter.html").write_text(
        "<html><body><p>{{ application.reference }}</p></body></html>", encoding="utf-8")
    _catalogue, problems = load([defs])
    assert len(problems) == 1 and "signature-stamp" in problems[0].en


def test_agencies_share_one_letterhead(defs):  # R: A-L2 (inheritance, not copies)
    letterhead = defs / "nonthaburi-city" / "templates" / "letterhead.html"
    edit(letterhead, "{{ agency.name.en }}", "{{ agency.nmae.en }}")
    _catalogue, problems = load([defs])
    # every Nonthaburi document extends it (the agency's announcements too), so every one of them is reported
    assert {p.file.rsplit("/", 1)[-1] for p in problems} == {
        "food-shop-permit.yaml", "building-permit.yaml", "licence-information-request.yaml", "nonthaburi-city.yaml"}
    assert all("letterhead.html" in p.en for p in problems)


# --------------------------------------------------------------------------- validity
@pytest.mark.parametrize("validity, issued, until", [
    ({"years": 1}, dt.date(2023, 1, 23), dt.date(2024, 1, 22)),  # the day before the anniversary
    ({"months": 1}, dt.date(2023, 1, 31), dt.date(2023, 2, 27)),  # 28 Feb is the anniversary: one day before
    ({"years": 1}, dt.date(2024, 2, 29), dt.date(2025, 2, 27)),
    ({"days": 30}, dt.date(2023, 1, 1), dt.date(2023, 1, 30)),
    ({"until_end_of_year": True}, dt.date(2023, 5, 2), dt.date(2023, 12, 31)),
    ({"years": 1, "until_end_of_year": True}, dt.date(2023, 5, 2), dt.date(2024, 12, 31)),
])
def test_valid_until_from_validity(validity, issued, until):  # R: A-L5
    assert valid_until(issued, Validity(**validity)) == until


def test_no_validity_no_end():
    assert valid_until(dt.date(2023, 1, 1), None) is None


# --------------------------------------------------------------------------- eservice keys
def test_keys_create_makes_a_demo_ca_for_every_agency(tmp_path, capsys):  # R: IS-2
    data = tmp_path / "data"
    assert main(["keys", "create", "--data", str(data), "--definitions", str(DEFINITIONS)]) == 0
    for agency in ("nonthaburi-city", "chatuchak-district"):
        keys = load_agency_keys(data, agency)
        assert (keys.folder / "ca.pem").is_file() and keys.chain_pems
    assert "เทศบาลนครนนทบุรี" in load_agency_keys(data, "nonthaburi-city").subject
    # again: refused, nothing replaced
    before = (data / "keys" / "nonthaburi-city" / "signing-key.pem").read_bytes()
    assert main(["keys", "create", "--data", str(data), "--agency", "nonthaburi-city",
                 "--definitions", str(DEFINITIONS)]) == 1
    assert "already has a signing key" in capsys.readouterr().err
    assert (data / "keys" / "nonthaburi-city" / "signing-key.pem").read_bytes() == before


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca_and_cert(usage_for_signing: bool = True):
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name("เทศบาลทดสอบ")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(usage_for_signing, usage_for_signing, not usage_for_signing, False, False,
                                         False, False, False, False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return ca, key, cert


def _p12(key, cert, cas, password: bytes = b"secret") -> bytes:
    return pkcs12.serialize_key_and_certificates(b"agency", key, cert, cas,
                                                 serialization.BestAvailableEncryption(password))


def test_keys_import_installs_a_pkcs12_with_its_chain_and_signs_with_it(tmp_path, monkeypatch):  # R: IS-2, PR-8
    from eservice.certificates import create_agency_keys
    from eservice.signing import verify_pdf
    from eservice.renderers.pdf import render_pdf

    data = tmp_path / "data"
    create_agency_keys(data, "nonthaburi-city", org_name_th="เทศบาลนครนนทบุรี")  # a demo CA first
    ca, key, cert = _ca_and_cert()
    p12 = tmp_path / "agency.p12"
    p12.write_bytes(_p12(key, cert, [ca]))
    monkeypatch.setenv("ESERVICE_P12_PASSWORD", "secret")
    args = ["keys", "import", str(p12), "--agency", "nonthaburi-city", "--data", str(data)]
    assert main(args) == 1  # keys exist: not replaced without --overwrite
    assert main([*args, "--overwrite"]) == 0
    keys = load_agency_keys(data, "nonthaburi-city")
    assert keys.subject.endswith("CN=เทศบาลทดสอบ") or "เทศบาลทดสอบ" in keys.subject
    assert not (keys.folder / "ca.pem").exists() and not (keys.folder / "ca-key.pem").exists()  # no demo CA left
    assert oct((keys.folder / "signing-key.pem").stat().st_mode & 0o777) == "0o600"
    signed = keys.signer().sign(render_pdf("<p>ทดสอบ</p>"))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    assert verify_pdf(signed, [ca_pem], allow_fetching=False).valid


def test_keys_import_refuses_what_cannot_sign(tmp_path, monkeypatch, capsys):  # R: IS-2
    data = tmp_path / "data"
    ca, key, cert = _ca_and_cert()
    with pytest.raises(CertificateError, match="password"):
        import_pkcs12(data, "agency-a", _p12(key, cert, [ca]), b"wrong")
    with pytest.raises(CertificateError, match="no certificate of the issuing CA"):
        import_pkcs12(data, "agency-a", _p12(key, cert, []), b"secret")
    with pytest.raises(CertificateError, match="both the private key"):  # a certificate alone
        import_pkcs12(data, "agency-a", pkcs12.serialize_key_and_certificates(
            b"x", None, cert, [ca], serialization.NoEncryption()), None)
    ca2, key2, cert2 = _ca_and_cert(usage_for_signing=False)
    with pytest.raises(CertificateError, match="not meant for signing"):
        import_pkcs12(data, "agency-a", _p12(key2, cert2, [ca2]), b"secret")
    assert not (data / "keys" / "agency-a").exists()  # nothing written
    # the chain may come from a PEM file beside the .p12
    chain = tmp_path / "chain.pem"
    chain.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    p12 = tmp_path / "no-chain.p12"
    p12.write_bytes(_p12(key, cert, []))
    monkeypatch.setenv("ESERVICE_P12_PASSWORD", "secret")
    assert main(["keys", "import", str(p12), "--agency", "agency-a", "--data", str(data)]) == 1
    assert "--chain" in capsys.readouterr().err
    assert main(["keys", "import", str(p12), "--agency", "agency-a", "--data", str(data), "--chain", str(chain)]) == 0


def test_serve_demo_installs_demo_keys_for_every_agency(tmp_path):  # R: IS-2
    from argon2 import PasswordHasher

    from eservice.web.context import Settings
    from eservice.web.demo import seed_demo

    settings = Settings(data=tmp_path / "data", definitions=(DEFINITIONS,))
    seed_demo(settings, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1), out=io.StringIO())
    for agency in ("nonthaburi-city", "chatuchak-district"):
        assert load_agency_keys(settings.data, agency).chain_pems
    # idempotent: a second run keeps the keys
    before = (settings.data / "keys" / "nonthaburi-city" / "signing-key.pem").read_bytes()
    seed_demo(settings, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1), out=io.StringIO())
    assert (settings.data / "keys" / "nonthaburi-city" / "signing-key.pem").read_bytes() == before


# --------------------------------------------------------------------------- the submission summary
def test_the_summary_says_so_when_it_cannot_be_signed(app_factory, signed_in, caplog):  # R: IS-2, A-F9
    from pypdf import PdfReader
    from starlette.testclient import TestClient

    from eservice.renderers.pdf import normalize_extracted_thai
    from test_web_apply import at, attach_required, fill, start, submit

    app = app_factory(clock=at())  # no keys installed for the agency
    with TestClient(app) as client:
        signed_in(client, "nokeys@example.com")
        app_id = start(client)
        fill(client, app_id)
        attach_required(client, app_id)
        assert submit(client, app_id).status_code == 303
        with caplog.at_level("WARNING"):
            response = client.get(f"/applications/{app_id}/summary.pdf")
    assert response.status_code == 200 and b"/ByteRange" not in response.content
    text = normalize_extracted_thai("".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    assert normalize_extracted_thai("ฉบับนี้ไม่ได้ลงลายมือชื่อดิจิทัลของหน่วยงาน") in text
    assert "Notdigitallysignedbytheagency" in text
    assert any("UNSIGNED" in r.getMessage() for r in caplog.records)


def test_settings_read_the_time_stamp_service():  # R: IS-2
    from eservice.web.context import Settings

    assert Settings.from_env({"ESERVICE_TSA_URL": "http://tsa.example/"}).tsa_url == "http://tsa.example/"
    assert Settings.from_env({}).tsa_url is None


# --------------------------------------------------------------------------- timers
def test_a_timer_whose_letter_cannot_be_signed_waits_for_the_next_round(tmp_path):  # R: IS-2, PR-2
    import yaml

    from eservice.applications import Applications, declaration_of
    from eservice.certificates import create_agency_keys
    from eservice.clock import FixedClock
    from eservice.engine import EngineContext
    from eservice.files import FileStore
    from eservice.outputs import Outputs
    from eservice.policy import Actor, Grant
    from eservice.spec.loader import load_or_raise
    from eservice.store import open_store
    from eservice.workflow import TIMERS, Workflow
    from smtp_server import closed_port

    defs = tmp_path / "defs"
    shutil.copytree(Path(__file__).parent / "fixtures" / "defs", defs)
    path = defs / "test-agency" / "minimal.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["outputs"]["letters"] = [{"id": "notice", "title": {"th": "หนังสือแจ้ง", "en": "Notice"},
                                   "template": "templates/permit.html"}]
    dispose = next(t for t in data["workflow"]["transitions"] if t["id"] == "dispose")
    dispose["effects"] = [{"issue_letter": "notice"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (defs / "test-agency" / "templates" / "permit.html").write_text(
        '{% extends "eservice/issued.html" %}{% block content %}<h1>{{ document.title.th }}'
        '{% if licence is defined %} {{ licence.number }}{% endif %}</h1>{% endblock %}', encoding="utf-8")
    catalogue = load_or_raise([defs])
    clock = FixedClock(dt.datetime(2026, 6, 15, 3, 0, tzinfo=dt.timezone.utc))
    store, files = open_store(tmp_path / "store"), FileStore(tmp_path / "files")
    create_agency_keys(tmp_path, "test-agency", org_name_th="หน่วยงานทดสอบ")

    def engine(tsa_url):
        return EngineContext(catalogue=catalogue, store=store, files=files, clock=clock, outputs=Outputs(
            files, tmp_path, base_url="https://eservice.example", clock=clock, tsa_url=tsa_url))

    down = engine(f"http://127.0.0.1:{closed_port()}/tsa")  # the time-stamp service does not answer
    apps = Applications(down)
    citizen = Actor(user_id="u-citizen", name="สมชาย")
    record = apps.start("minimal-permit", citizen)
    apps.save_page(record["id"], citizen, "shop", {"shop_name": "ร้าน", "shop_area": 20})
    record = apps.submit(record["id"], citizen, declaration_shown=declaration_of(catalogue.latest("minimal-permit")),
                         intent_confirmed=True)
    reviewer = Actor(user_id="u-rev", grants=(Grant("test-agency", "reviewer"),))
    Workflow(down).take(record["id"], "request_documents", reviewer, {"missing": "แผนผัง"})
    clock.set(clock.now() + dt.timedelta(days=31))
    assert Workflow(down).fire_due_timers() == []
    assert store.get_application(record["id"])["state"] == "awaiting_documents"
    assert len(list(store.collection(TIMERS).all())) == 1  # kept: tried again next round
    fired = Workflow(engine(None)).fire_due_timers()  # B-B: no time-stamp service configured
    assert len(fired) == 1
    after = store.get_application(record["id"])
    assert after["state"] == "disposed" and after["letters"][0]["signature_level"] == "PAdES-B-B"
