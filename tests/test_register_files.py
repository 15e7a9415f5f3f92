"""The register as files and open data, and back-filling it from files
(issue #7 items 6 and 7).

R: PL-2 (historical licences entered later), PL-3 (exported, published, sent to
a CKAN catalogue), PL-4 (expiry updates the register), PL-1.

The licences come from the example services through the real web app (as in
``tests/test_outputs_journey.py``); the files are fetched from the app and made
by ``eservice register export``; ``eservice register import`` reads them back
into fresh data folders.  The CKAN description is checked against a JSON
Schema written here from CKAN's documented ``package_create`` and
``resource_create`` parameters (docs.ckan.org, "API guide",
``ckan.logic.action.create``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from eservice.audit import AuditLog
from eservice.cli import main
from eservice.clock import FixedClock
from eservice.register import Register
from eservice.settings import Settings
from eservice.web.app import create_app
from smtp_server import SmtpTestServer
from test_outputs_journey import CASES, DEFINITIONS, NOW, World
from tsa_server import tsa_server  # noqa: F401  (fixture)

_STRING = {"type": "string"}
_ISO = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}"}
# package_create: "name (string) – the name of the new dataset, must be between 2 and 100 characters long
# and contain only lowercase alphanumeric characters, - and _"; tags: "a string between 2 and 100
# characters long containing only alphanumeric characters, spaces and the characters -, _ and ."
CKAN_PACKAGE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "owner_org"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9_-]{2,100}$"},
        "title": _STRING, "private": {"type": "boolean"}, "author": _STRING, "author_email": _STRING,
        "maintainer": _STRING, "maintainer_email": _STRING, "license_id": _STRING, "notes": _STRING,
        "url": _STRING, "version": {"type": "string", "maxLength": 100}, "state": {"enum": ["active", "deleted"]},
        "type": _STRING, "owner_org": _STRING, "plugin_data": {"type": "object"},
        "relationships_as_object": {"type": "array"}, "relationships_as_subject": {"type": "array"},
        "groups": {"type": "array", "items": {"type": "object", "properties": {"id": _STRING, "name": _STRING}}},
        "tags": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "pattern": r"^[A-Za-z0-9 ._-]{2,100}$"},
                           "vocabulary_id": _STRING}}},
        "extras": {"type": "array", "items": {
            "type": "object", "required": ["key", "value"], "additionalProperties": False,
            "properties": {"key": _STRING, "value": _STRING}}},
        "resources": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["url"], "additionalProperties": False,
            "properties": {"package_id": _STRING, "url": {"type": "string", "pattern": "^https?://"},
                           "description": _STRING, "format": _STRING, "hash": _STRING, "name": _STRING,
                           "resource_type": _STRING, "mimetype": _STRING, "mimetype_inner": _STRING,
                           "cache_url": _STRING, "size": {"type": "integer"}, "created": _ISO,
                           "last_modified": _ISO, "cache_last_updated": _ISO}}},
    },
}


@pytest.fixture(scope="module")
def world(tmp_path_factory, tsa_server):  # noqa: F811
    """Three example licences issued through the web; one of them revoked."""
    folder = tmp_path_factory.mktemp("register-files")
    root = folder / "tsa-root.pem"
    root.write_bytes(tsa_server.ca_pem)
    with SmtpTestServer() as smtp:
        found = World(folder / "data", tsa_server, smtp, trust_roots=(root,),
                      allowed_hosts=("testserver",))  # public links: http://testserver/…
        for case in ("commercial_registration", "food_licence", "building_permit"):
            service, changes, agency, steps, _ = CASES[case]
            app_id = found.apply(service, **changes)
            for step in steps:
                if step == "pay":
                    found.pay(app_id)
                elif step != "draft":
                    who, transition, inputs = step
                    found.act(f"{who}.{agency}", app_id, transition, **inputs)
        register = Register(found.store, found.app.state.ctx.catalogue, found.clock)
        [building] = register.entries(service="building-permit")
        officer = found.accounts.find_by_email("signing_authority.nonthaburi-city@example.com")
        from eservice.policy import Actor, Grant

        actor = Actor(user_id=officer["id"], grants=(Grant("nonthaburi-city", "signing_authority"),))
        register.change_status(building["id"], "revoke", actor, "คำสั่งเพิกถอนที่ 5/2569")
        yield found


def cli(*args: str) -> int:
    return main([*args])


def export_file(data: Path, fmt: str, out: Path, *extra: str) -> bytes:
    assert cli("register", "export", "--data", str(data), "--definitions", str(DEFINITIONS), "--format", fmt,
               "-o", str(out), *extra) == 0
    return out.read_bytes()


def import_file(data: Path, path: Path, *extra: str) -> int:
    return cli("register", "import", str(path), "--data", str(data), "--definitions", str(DEFINITIONS), *extra)


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads Thai
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in sheet[1]]

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else str(value)
        return str(value)

    return header, [dict(zip(header, map(text, r))) for r in sheet.iter_rows(min_row=2, values_only=True)]


# --------------------------------------------------------------------------- the files (PL-3)
def test_csv_xlsx_and_json_have_the_same_columns_and_rows(world, tmp_path, capsys):  # R: PL-3, PL-1
    client = TestClient(world.app)
    web = {fmt: client.get(f"/licences/register.{fmt}") for fmt in ("csv", "xlsx", "json")}
    assert web["csv"].headers["content-type"].startswith("text/csv")
    assert web["csv"].headers["content-disposition"].startswith("attachment")
    rows = csv_rows(web["csv"].content)
    header = list(rows[0])
    body = json.loads(web["json"].content)
    assert [f["id"] for f in body["fields"]] == header
    assert body["records"] == rows
    xlsx_header, xlsx = xlsx_rows(web["xlsx"].content)
    assert xlsx_header == header
    assert xlsx == rows  # dates as dates and numbers as numbers, the same values
    assert header[:7] == ["agency", "service", "licence", "licence_number", "status", "issued_on", "valid_until"]
    assert sorted(r["status"] for r in rows) == ["active", "active", "revoked"]
    food = next(r for r in rows if r["licence"] == "food_licence")
    assert food["valid_until"] == "2027-06-14" and food["shop_name"] == "ร้านป้าแดง" and food["seats"] == "30"
    assert food["establishment_type"] and food["trade_name"] == ""  # another service's column: empty
    # the command line writes the same file, with a progress bar
    assert export_file(world.data, "csv", tmp_path / "all.csv") == web["csv"].content
    assert "100%" in capsys.readouterr().err
    # per agency and per service
    agency = csv_rows(client.get("/licences/agencies/nonthaburi-city/register.csv").content)
    assert {r["agency"] for r in agency} == {"nonthaburi-city"} and len(agency) == 2
    service = client.get("/licences/services/commercial-registration/register.csv").content
    assert [r["licence_number"] for r in csv_rows(service)] == [
        next(r["licence_number"] for r in rows if r["service"] == "commercial-registration")]
    assert "shop_name" not in csv_rows(service)[0]  # only that service's fields
    assert client.get("/licences/register.pdf").status_code == 404


def test_the_ckan_package_validates_and_its_resources_download(world, tmp_path):  # R: PL-3
    client = TestClient(world.app)
    for agency in ("nonthaburi-city", "chatuchak-district"):
        package = client.get(f"/licences/agencies/{agency}/ckan.json").json()
        assert [e.message for e in Draft202012Validator(CKAN_PACKAGE).iter_errors(package)] == []
        assert package["owner_org"] == agency and package["url"].startswith("http://testserver/")
        formats = set()
        for resource in package["resources"]:
            link = urlsplit(resource["url"])
            assert link.netloc == "testserver"
            got = client.get(link.path)
            assert got.status_code == 200 and got.headers["content-type"].startswith(resource["mimetype"])
            formats.add(resource["format"])
        assert formats == {"CSV", "XLSX", "JSON"}
        dcat = client.get(f"/licences/agencies/{agency}/dcat.jsonld")
        assert dcat.headers["content-type"].startswith("application/ld+json")
        dataset = dcat.json()
        assert dataset["@type"] == "dcat:Dataset" and "dcat" in dataset["@context"]
        assert {d["dcat:downloadURL"]["@id"] for d in dataset["dcat:distribution"]} == \
            {r["url"] for r in package["resources"]}
        assert {t["@language"] for t in dataset["dct:title"]} == {"th", "en"}
    # the command line gives the same description, for the same public address
    assert json.loads(export_file(world.data, "ckan", tmp_path / "ckan.json", "--agency", "nonthaburi-city",
                                  "--base-url", "http://testserver")) == \
        client.get("/licences/agencies/nonthaburi-city/ckan.json").json()
    assert cli("register", "export", "--data", str(world.data), "--definitions", str(DEFINITIONS),
               "--format", "ckan") == 1  # which agency?


# --------------------------------------------------------------------------- back-fill (PL-2)
def test_the_import_round_trips_the_export_and_is_idempotent(world, tmp_path, capsys):  # R: PL-2, PL-3
    original = export_file(world.data, "csv", tmp_path / "register.csv")
    xlsx = export_file(world.data, "xlsx", tmp_path / "register.xlsx")
    fresh = tmp_path / "fresh"
    assert import_file(fresh, tmp_path / "register.csv") == 0
    assert "เพิ่ม 3" in capsys.readouterr().out
    assert export_file(fresh, "csv", tmp_path / "again.csv") == original  # the same file, byte for byte
    assert import_file(fresh, tmp_path / "register.csv") == 0  # twice: nothing changes
    out = capsys.readouterr()
    assert "3 unchanged" in out.out and "100%" in out.err
    assert export_file(fresh, "csv", tmp_path / "third.csv") == original
    from_xlsx = tmp_path / "from-xlsx"
    assert import_file(from_xlsx, tmp_path / "register.xlsx") == 0
    assert export_file(from_xlsx, "csv", tmp_path / "x.csv") == original
    assert xlsx  # (read back above)
    # into the folder it came from: the platform's own licences are left as they are
    assert import_file(world.data, tmp_path / "register.csv") == 0
    assert "3 unchanged" in capsys.readouterr().out
    # the imported register answers on the web like the original
    app = create_app(Settings(data=fresh, definitions=(DEFINITIONS,)), clock=FixedClock(NOW))
    page = TestClient(app).get("/licences", params={"status": "revoked"})
    assert page.text.count('class="register-entry"') == 1 and "ถูกเพิกถอน" in page.text
    assert AuditLog(fresh).search(action="register.import")  # the import is in the audit chain


def test_a_wrong_row_is_reported_by_row_and_column_and_nothing_is_imported(tmp_path, capsys):  # R: PL-2
    rows = [
        "agency,service,licence,licence_number,status,issued_on,valid_until,shop_name,establishment_type,shop_area",
        "nonthaburi-city,food-shop-permit,food_licence,สอ.0001/2560,active,2560-03-01,2561-02-28,ร้านเก่า,ร้านอาหาร,"
        "250",
        "nonthaburi-city,food-shop-permit,food_licence,สอ.0002/2560,closed,2017-03-01,,ร้านสอง,ร้านอาหาร,300",
        "nonthaburi-city,food-shop-permit,food_licence,สอ.0003/2560,active,2017-03-01,,ร้านสาม,ร้านอาหาร,กว้าง",
        "chatuchak-district,food-shop-permit,food_licence,สอ.0004/2560,active,2017-03-01,,ร้านสี่,ไม่มีประเภทนี้,90",
        "nonthaburi-city,food-shop-permit,food_licence,สอ.0001/2560,active,2017-03-01,,ร้านซ้ำ,ร้านอาหาร,250",
    ]
    path = tmp_path / "old.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    assert import_file(data, path) == 1
    err = capsys.readouterr().err
    for row, column in ((3, "status"), (4, "shop_area"), (5, "service"), (5, "establishment_type"),
                        (6, "licence_number")):
        assert f"แถว {row} คอลัมน์ {column}" in err and f"row {row}, column {column}" in err, (row, column, err)
    assert "แถว 2 คอลัมน์" not in err  # the good row: a Buddhist-Era date is read as such
    assert "nothing was imported" in err
    catalogue_app = create_app(Settings(data=data, definitions=(DEFINITIONS,)), clock=FixedClock(NOW))
    assert Register(catalogue_app.state.ctx.store).entries() == []
    assert import_file(data, path, "--skip-bad") == 1  # the problems are still said
    [entry] = Register(catalogue_app.state.ctx.store).entries()
    assert entry["number"] == "สอ.0001/2560" and entry["issued_on"] == "2017-03-01"
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("agency,service,licence,number,status,issued_on,colour\n", encoding="utf-8")
    assert import_file(data, bad_header) == 1
    err = capsys.readouterr().err
    assert "คอลัมน์ licence_number" in err and "column colour" in err


# --------------------------------------------------------------------------- paging and expiry (PL-1, PL-4)
def test_paging_and_the_daily_expiry(tmp_path):  # R: PL-1, PL-4
    header = "agency,service,licence,licence_number,status,issued_on,valid_until,shop_name,establishment_type"
    lines = [header]
    for n in range(1, 46):  # 45 licences; the first 5 end on 2026-06-20, the rest a year later
        until = "2026-06-20" if n <= 5 else "2027-06-20"
        lines.append(f"nonthaburi-city,food-shop-permit,food_licence,สอ.{n:04d}/2568,active,2025-06-21,{until},"
                     f"ร้านที่ {n},ร้านอาหาร")
    path = tmp_path / "old.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    assert import_file(data, path) == 0
    clock = FixedClock(NOW)
    app = create_app(Settings(data=data, definitions=(DEFINITIONS,)), clock=clock)
    client = TestClient(app)
    third = client.get("/licences/services/food-shop-permit", params={"page": 3})
    assert third.text.count('class="register-entry"') == 5 and "หน้า 3 จาก 3" in third.text
    assert 'rel="prev"' in third.text and 'rel="next"' not in third.text
    found = client.get("/licences/services/food-shop-permit", params={"q": "ร้านที่ 17"})
    assert found.text.count('class="register-entry"') == 1 and "สอ.0017/2568" in found.text
    # the day after valid_until: shown expired at once, written by the daily job, recorded in the audit chain
    from eservice.worker import run_once

    clock.set(dt.datetime(2026, 6, 21, 0, 5, tzinfo=NOW.tzinfo))
    expired = client.get("/licences/services/food-shop-permit", params={"status": "expired"})
    assert expired.text.count('class="register-entry"') == 5
    report = run_once(app.state.ctx)
    assert len(report.expired) == 5 and not report.errors
    stored = app.state.ctx.store.collection("register")
    assert sorted(e["status"] for e in stored.all()).count("expired") == 5
    assert run_once(app.state.ctx).expired == []  # once a day
    events = AuditLog(data).search(action="licence.expire")
    assert len(events) == 5 and events[0]["actor"] == "system"
