"""The plugin API: discovery through entry points, runtime plugins, descriptors."""
from __future__ import annotations

import dataclasses
import importlib.metadata
import subprocess
import sys
import textwrap
from decimal import Decimal

import jsonschema
import pytest

from eservice import plugin_api
from eservice.plugin_api import (
    FieldType,
    Identity,
    Message,
    OutgoingMessage,
    PluginError,
    Verification,
    field_types,
    get_plugin_manager,
    hookimpl,
    reset_plugin_manager,
)

FIRST_PARTY = {"thai_validators", "thai_address"}


@pytest.fixture(autouse=True)
def fresh_manager():
    """Each test gets a newly discovered plugin manager and leaves none behind."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()


def test_first_party_plugins_are_declared_as_entry_points():
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="eservice")}
    assert eps.get("thai_validators") == "eservice.plugins.thai_validators"
    assert eps.get("thai_address") == "eservice.plugins.thai_address"


def test_manager_discovers_first_party_plugins_through_entry_points():
    pm = get_plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    assert FIRST_PARTY <= names
    # pluggy records the distribution only for plugins it loaded from entry points.
    from_dists = {
        pm.get_name(plugin): dist.project_name for plugin, dist in pm.list_plugin_distinfo()
    }
    assert from_dists.get("thai_validators") == "eservice"
    assert from_dists.get("thai_address") == "eservice"
    assert get_plugin_manager() is pm  # cached


def test_discovery_really_goes_through_importlib_metadata(monkeypatch):
    """With no distributions visible, no first-party plugin appears: nothing is
    imported and registered behind the entry-point mechanism's back."""
    monkeypatch.setattr(importlib.metadata, "distributions", lambda **kw: iter(()))
    pm = plugin_api._new_plugin_manager()
    assert not FIRST_PARTY & {name for name, _ in pm.list_name_plugin()}
    assert field_types(pm) == {}


def test_plugins_are_imported_only_when_the_manager_is_created():
    code = textwrap.dedent(
        """
        import sys
        import eservice.plugin_api as api
        assert "eservice.plugins.thai_validators" not in sys.modules
        assert "eservice.plugins.thai_address" not in sys.modules
        names = sorted(api.field_types())
        assert "eservice.plugins.thai_validators" in sys.modules
        print(",".join(names))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out.split(",") == ["thai_address", "thai_juristic_id", "thai_national_id", "thai_phone"]


def test_first_party_field_types():
    types = field_types()
    assert {"thai_national_id", "thai_juristic_id", "thai_phone", "thai_address"} <= set(types)
    for name, ft in types.items():
        assert ft.name == name
        jsonschema.Draft202012Validator.check_schema(dict(ft.schema))
        assert ft.title.get("th") and ft.title.get("en")


class _PostcodeLike:
    """A third-party plugin, as an object with hook methods."""

    @hookimpl
    def eservice_field_types(self):
        def validate(value):
            if isinstance(value, str) and value.strip().upper().startswith("LT-"):
                return []
            return [Message("land_title.format", "เลขโฉนดไม่ถูกต้อง", "Not a land title number")]

        return [
            FieldType(
                name="land_title_no",
                schema={"type": "string", "pattern": "^LT-"},
                validate=validate,
                normalize=lambda v: v.strip().upper(),
            )
        ]


def test_third_party_plugin_registered_at_runtime_adds_a_field_type():
    pm = get_plugin_manager()
    assert "land_title_no" not in field_types()
    plugin = _PostcodeLike()
    pm.register(plugin, name="agency_land")
    try:
        types = field_types()
        assert "land_title_no" in types
        assert "thai_national_id" in types  # first-party ones still there
        ft = types["land_title_no"]
        assert ft.clean(" lt-42 ") == ("LT-42", [])
        value, messages = ft.clean("42")
        assert value == "42" and [m.code for m in messages] == ["land_title.format"]
    finally:
        pm.unregister(plugin)
    assert "land_title_no" not in field_types()


def test_duplicate_field_type_names_are_refused_naming_both_plugins():
    class Clash:
        @hookimpl
        def eservice_field_types(self):
            return [FieldType(name="thai_phone", schema={}, validate=lambda v: [])]

    pm = get_plugin_manager()
    pm.register(Clash(), name="clashing_plugin")
    with pytest.raises(PluginError) as err:
        field_types()
    assert "thai_phone" in err.value.en
    assert "thai_validators" in err.value.en and "clashing_plugin" in err.value.en
    assert "thai_phone" in err.value.th


def test_blocked_first_party_plugin_can_be_replaced():
    pm = get_plugin_manager()
    pm.unregister(name="thai_address")
    pm.set_blocked("thai_address")
    assert "thai_address" not in field_types()
    assert "thai_phone" in field_types()


def test_every_hook_is_collected_by_name():
    class Verifier:
        name = "always_ok"
        media_types = ("application/pdf",)

        def verify(self, data, *, filename="", media_type=""):
            return Verification(ok=data.startswith(b"%PDF"))

    class Prefill:
        name = "registry"
        keys = ("full_name",)

        def fetch(self, identity, fields):
            return {"full_name": identity.name} if "full_name" in fields else {}

    class Pay:
        name = "fake_pay"

        def create(self, reference, amount, description):
            return {"reference": reference, "amount": str(amount)}

        def status(self, reference):
            return "pending"

    class Channel:
        name = "memory"

        def __init__(self):
            self.sent = []

        def send(self, notification):
            self.sent.append(notification)

    class Idp:
        name = "local"
        title = {"th": "เข้าสู่ระบบ", "en": "Sign in"}

        def authenticate(self, credentials):
            if credentials.get("password") == "ok":
                return Identity(provider="local", subject=credentials["user"])
            return None

    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    channel = Channel()
    route = Route("/hello-plugin", lambda request: PlainTextResponse("hi"))

    class Everything:
        @hookimpl
        def eservice_document_verifiers(self):
            return [Verifier()]

        @hookimpl
        def eservice_prefill_sources(self):
            return [Prefill()]

        @hookimpl
        def eservice_payment_providers(self):
            return [Pay()]

        @hookimpl
        def eservice_notification_channels(self):
            return [channel]

        @hookimpl
        def eservice_identity_providers(self):
            return [Idp()]

        @hookimpl
        def eservice_routes(self):
            return [route]

    get_plugin_manager().register(Everything(), name="everything")

    verifier = plugin_api.document_verifiers()["always_ok"]
    assert isinstance(verifier, plugin_api.DocumentVerifier)
    assert verifier.verify(b"%PDF-1.7").ok and not verifier.verify(b"GIF").ok

    prefill = plugin_api.prefill_sources()["registry"]
    assert isinstance(prefill, plugin_api.PrefillSource)
    who = Identity(provider="local", subject="u1", name="สมชาย ใจดี")
    assert prefill.fetch(who, ["full_name"]) == {"full_name": "สมชาย ใจดี"}

    pay = plugin_api.payment_providers()["fake_pay"]
    assert isinstance(pay, plugin_api.PaymentProvider)
    assert pay.create("R1", Decimal("100.50"), "fee")["amount"] == "100.50"

    plugin_api.notification_channels()["memory"].send(OutgoingMessage("a@b.th", "s", "b"))
    assert [n.to for n in channel.sent] == ["a@b.th"]

    idp = plugin_api.identity_providers()["local"]
    assert isinstance(idp, plugin_api.IdentityProvider)
    assert idp.authenticate({"user": "u1", "password": "ok"}).subject == "u1"
    assert idp.authenticate({"user": "u1", "password": "no"}) is None

    assert route in plugin_api.routes()


def test_item_without_a_name_is_a_plugin_error():
    class Nameless:
        @hookimpl
        def eservice_payment_providers(self):
            return [object()]

    get_plugin_manager().register(Nameless(), name="nameless")
    with pytest.raises(PluginError, match="nameless"):
        plugin_api.payment_providers()


def test_message_is_frozen_and_bilingual():
    m = Message("x.y", "ผิด", "wrong")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.th = "อื่น"  # type: ignore[misc]
    assert m.text("th") == "ผิด" and m.text("en") == "wrong"
    assert str(m) == "ผิด / wrong"
    assert m == Message("x.y", "ผิด", "wrong") and hash(m) == hash(Message("x.y", "ผิด", "wrong"))
    assert m.path == ()


def test_unknown_hook_in_a_plugin_is_rejected():
    class Typo:
        @hookimpl
        def eservice_field_typez(self):
            return []

    pm = get_plugin_manager()
    pm.register(Typo(), name="typo")
    with pytest.raises(Exception, match="eservice_field_typez"):
        pm.check_pending()
