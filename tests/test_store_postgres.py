"""The PostgreSQL backend (#19 item 1) against a real server at 127.0.0.1:5432:
the same behaviour as the embedded store through the same interface, version
checks, archives by month, gapless numbers from two processes, collections,
and the schema upgrade.  A-F9, RC-1, NF-1."""
from __future__ import annotations

import multiprocessing
import os
import uuid
from datetime import datetime

import pytest

from eservice.clock import UTC, FixedClock
from eservice.store import ConflictError, NotFoundError, StoreError, open_store

psycopg = pytest.importorskip("psycopg")
URL = os.environ.get("ESERVICE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CLOCK = FixedClock(datetime(2024, 5, 10, 3, 0, tzinfo=UTC))


def _server_up() -> bool:
    try:
        psycopg.connect(URL, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


pytestmark = pytest.mark.skipif(not _server_up(), reason=f"no PostgreSQL at {URL}")


@pytest.fixture
def schema():
    from eservice.store.pg_schema import upgrade
    name = f"t_{uuid.uuid4().hex[:12]}"
    assert upgrade(URL, name) == (0, 1)
    yield name
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def store(schema, tmp_path):
    s = open_store(tmp_path / "unused", database_url=URL, schema=schema, clock=CLOCK)
    yield s
    s.close()


def make_app(app_id, *, agency="dol", applicant="A", closed=False, intake_at=None, **extra):
    return {"id": app_id, "agency": agency, "service": "s", "state": "submitted", "closed": closed,
            "applicant": applicant, "answers": {"ชื่อ": "ร้านอาหาร"}, "events": [],
            "intake_at": intake_at or f"2024-05-10T0{len(app_id) % 9}:00:00+07:00", **extra}


def test_applications_round_trip_with_version_checks(store):
    created = store.create_application(make_app("APP-1", answers={"area": 12.5, "ชื่อ": "ร้าน"}))
    assert created["version"] == 1
    assert store.get_application("APP-1") == created
    with pytest.raises(ConflictError):
        store.create_application(make_app("APP-1"))
    updated = store.update_application(dict(created, state="under_review"), 1)
    assert updated["version"] == 2 and store.get_application("APP-1")["state"] == "under_review"
    with pytest.raises(ConflictError) as stale:
        store.update_application(dict(created, state="lost"), 1)
    assert stale.value.actual == 2 and "ฉบับที่" in stale.value.th
    with pytest.raises(NotFoundError):
        store.get_application("APP-404")
    with pytest.raises(NotFoundError):
        store.update_application(make_app("APP-404"), 1)
    with pytest.raises(StoreError):  # not JSON: refused, nothing written
        store.create_application(make_app("APP-NAN", answers={"x": float("nan")}))
    with pytest.raises(NotFoundError):
        store.get_application("APP-NAN")


def test_inbox_archive_and_applicant_lists(store):
    store.create_application(make_app("B", intake_at="2024-05-02T09:00:00+07:00", applicant="P1"))
    store.create_application(make_app("A", intake_at="2024-05-01T09:00:00+07:00", applicant="P2"))
    store.create_application(make_app("C", intake_at="2024-05-03T09:00:00+07:00", applicant="P1",
                                      agency="other"))
    assert [s["id"] for s in store.open_applications("dol")] == ["A", "B"]
    assert set(store.open_applications("dol")[0]) >= {"id", "state", "version", "intake_number"}
    b = store.get_application("B")
    store.update_application(dict(b, closed=True, state="approved", closed_at="2024-04-30T20:00:00+00:00"), 1)
    assert [s["id"] for s in store.open_applications("dol")] == ["A"]
    # 20:00 UTC on 30 April is 1 May in Bangkok: archived under the Thai month.
    assert [s["id"] for s in store.closed_applications("dol", "2024-05")] == ["B"]
    assert list(store.closed_applications("dol", "2024-04")) == []
    assert [s["id"] for s in store.applications_of("P1")] == ["B", "C"]
    closed = store.get_application("B")  # a later change keeps the month it was archived under
    store.update_application(dict(closed, closed_at="2024-07-01T00:00:00+00:00"), closed["version"])
    assert [s["id"] for s in store.closed_applications("dol")] == ["B"]
    assert [s["id"] for s in store.closed_applications("dol", "2024-05")] == ["B"]


def test_modify_application_holds_the_row(store):
    store.create_application(make_app("APP-1", counter=0))

    def bump(record):
        record["counter"] += 1

    for _ in range(5):
        store.modify_application("APP-1", bump)
    assert store.get_application("APP-1")["counter"] == 5
    with pytest.raises(NotFoundError):
        store.modify_application("nope", bump)


def test_numbers_are_logged_with_what_they_were_drawn_for(store):
    assert store.current_number("intake-2567") == 0
    assert [store.next_number("intake-2567", {"application": f"APP-{i}"}) for i in range(3)] == [1, 2, 3]
    assert store.next_number("other") == 1
    assert store.current_number("intake-2567") == 3
    log = store.number_log("intake-2567")
    assert [(e["value"], e["application"]) for e in log] == [(1, "APP-0"), (2, "APP-1"), (3, "APP-2")]
    assert log[0]["at"] == CLOCK.now().isoformat()


def _draw(schema, count, queue):
    s = open_store("unused", database_url=URL, schema=schema)
    queue.put([s.next_number("receipt-2570", {"by": os.getpid()}) for _ in range(count)])
    s.close()


def test_two_processes_draw_unique_gapless_numbers(schema):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_draw, args=(schema, 150, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    drawn = queue.get(timeout=120) + queue.get(timeout=120)
    for p in procs:
        p.join(60)
    assert sorted(drawn) == list(range(1, 301))


def test_collections(store):
    users = store.collection("users")
    first = users.put("u1", {"email": "a@example.com", "roles": ["reviewer"]})
    assert first["version"] == 1 and users.get("u1") == first
    with pytest.raises(ConflictError):
        users.put("u1", {"email": "b@example.com"})
    second = users.put("u1", dict(first, email="c@example.com"), expected_version=1)
    assert second["version"] == 2
    with pytest.raises(ConflictError):
        users.put("u1", first, expected_version=1)
    with pytest.raises(NotFoundError):
        users.put("u2", {"email": "x"}, expected_version=1)
    users.put("u2", {"email": "d@example.com", "roles": ["reviewer", "approver"]})
    assert [u["email"] for u in users.find(roles=["reviewer"])] == ["c@example.com"]  # equal, not contains
    assert [u["email"] for u in users.all()] == ["c@example.com", "d@example.com"]
    users.delete("u1")
    users.delete("u1")  # again: not an error
    assert users.get("u1") is None and store.collection("other").get("u2") is None


def test_an_old_schema_is_refused_with_the_command_to_run(tmp_path):
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        with pytest.raises(StoreError) as info:
            open_store(tmp_path, database_url=URL, schema=name)
        assert "eservice db upgrade" in info.value.en and "eservice db upgrade" in info.value.th
        from eservice.store.pg_schema import upgrade
        assert upgrade(URL, name) == (0, 1)
        assert upgrade(URL, name) == (1, 1)  # again: nothing to do
        open_store(tmp_path, database_url=URL, schema=name).close()
    finally:
        with psycopg.connect(URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


# --------------------------------------------------------------------------- the web app on PostgreSQL
OFFICER_TESTS = ("test_inbox_shows_only_own_agency_changed_first_then_by_due", "test_inbox_filters",
                 "test_application_page_shows_everything_and_is_audited")


@pytest.mark.parametrize("name", OFFICER_TESTS)
def test_officer_pages_work_the_same_on_postgresql(name, schema, tmp_path):
    """The officers' inbox and application pages of test_web_officer, through the
    real app, with ESERVICE_DATABASE_URL pointing at the server (NF-1)."""
    import test_web_officer as officer

    url = f"{URL}?options=-csearch_path%3D{schema}"
    world = officer.World(tmp_path, database_url=url)
    for key, grant in (("reviewer", ("test-agency", "reviewer")), ("reviewer2", ("test-agency", "reviewer")),
                       ("approver", ("test-agency", "approver")), ("clerk", ("test-agency", "registry_clerk")),
                       ("head", ("test-agency", "head_of_agency")), ("foreign", ("other-agency", "reviewer")),
                       ("limited", ("test-agency", "reviewer", ["quick-permit"]))):
        world.officer(key, grant)
    assert type(world.store).__name__ == "PostgresStore"
    try:
        getattr(officer, name)(world)
        with psycopg.connect(url) as conn:  # really in the server, not in memory
            assert conn.execute("SELECT count(*) FROM applications").fetchone()[0] >= 1
    finally:
        world.store.close()
