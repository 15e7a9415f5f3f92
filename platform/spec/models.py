"""The service definition language, version 1, as pydantic models.

These models are the single source of the YAML format: the loader validates
against them, ``eservice schema`` exports their JSON Schema for editors, and the
guide in docs/service-definition.md describes the same keys.  Every model
forbids unknown keys, so a typo such as ``requried:`` is an error at its line.
Cross-references (expression names, states, roles, templates) are checked
afterwards in :mod:`eservice.spec.check`.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import Enum
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator, model_validator,
)

from .text import Text

SCHEMA_VERSION = 1

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
    Field(description="lower_snake_case name: a–z, 0–9 and _, starting with a letter"),
]
ServiceId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=64),
    Field(description="lower-case name with dashes, e.g. food-shop-permit"),
]
Expression = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    Field(description="a CEL expression, e.g. `shop_area > 200 && has_kitchen`"),
]


class Spec(BaseModel):
    """Base of every definition model: unknown keys are errors; values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- form
class FieldType(str, Enum):
    text = "text"
    long_text = "long_text"
    number = "number"
    money = "money"
    date = "date"
    choice = "choice"
    checklist = "checklist"
    yes_no = "yes_no"
    consent = "consent"
    email = "email"
    thai_phone = "thai_phone"
    thai_national_id = "thai_national_id"
    thai_juristic_id = "thai_juristic_id"
    thai_address = "thai_address"
    group = "group"


class Option(Spec):
    value: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    label: Text


class Rule(Spec):
    """A check on the answers with its own message, e.g. ``check: shop_area > 0``."""

    check: Expression
    message: Text


# The keys ``prefill: profile.<key>`` may name (A-F2): what eservice.auth's
# Accounts.prefill_profile gives, checked in definitions by spec.check.
PROFILE_KEYS: tuple[str, ...] = (
    "first_name", "last_name", "full_name", "national_id", "email", "phone", "address", "birth_date",
)


class FormField(Spec):
    """One question of the e-Form."""

    id: Identifier
    type: FieldType
    label: Text
    hint: Text | None = None
    required: bool = False
    required_when: Expression | None = Field(None, description="required only when this holds")
    when: Expression | None = Field(None, description="shown only when this holds; hidden means not applicable")
    rules: tuple[Rule, ...] = ()
    prefill: str | None = Field(None, description="source.key, e.g. profile.phone")
    # type-specific
    options: tuple[Option, ...] = Field((), description="for choice and checklist")
    widget: Literal["dropdown", "radios"] | None = Field(None, description="for choice")
    min: Decimal | None = None
    max: Decimal | None = None
    decimals: int | None = Field(None, ge=0, le=6, description="for number")
    unit: Text | None = None
    max_length: int | None = Field(None, ge=1, le=100_000)
    pattern: str | None = Field(None, description="a regular expression the text must match")
    min_date: str | None = Field(None, description="ISO date or `today`")
    max_date: str | None = Field(None, description="ISO date or `today`")
    consent_text: Text | None = Field(None, description="for consent: the statement agreed to")
    fields: tuple["FormField", ...] = Field((), description="for group: the fields of one item")
    min_items: int | None = Field(None, ge=0)
    max_items: int | None = Field(None, ge=1, le=500)
    item_label: Text | None = Field(None, description="for group: the name of one item")

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _type_specific(self) -> "FormField":
        t = self.type
        if t in (FieldType.choice, FieldType.checklist) and not self.options:
            raise ValueError(f"a {t.value} field needs `options`")
        if self.options and t not in (FieldType.choice, FieldType.checklist):
            raise ValueError(f"`options` is only for choice and checklist fields, not {t.value}")
        if t is FieldType.group and not self.fields:
            raise ValueError("a group field needs `fields`")
        if self.fields and t is not FieldType.group:
            raise ValueError(f"`fields` is only for group fields, not {t.value}")
        if self.widget and t is not FieldType.choice:
            raise ValueError("`widget` is only for choice fields")
        values = [o.value for o in self.options]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"option values repeat: {', '.join(duplicates)}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` is greater than `max`")
        return self


class Page(Spec):
    id: Identifier
    title: Text
    intro: Text | None = None
    when: Expression | None = None
    fields: tuple[FormField, ...] = Field(..., min_length=1)


class Section(Spec):
    id: Identifier
    title: Text
    pages: tuple[Page, ...] = Field(..., min_length=1)


class Form(Spec):
    sections: tuple[Section, ...] = Field(..., min_length=1)
    declaration: Text | None = Field(
        None, description="the text the applicant signs (A-F8); a default text is used when absent")


class Calculation(Spec):
    """A named value computed from the answers, usable in every expression."""

    id: Identifier
    expr: Expression
    type: Literal["number", "money", "text", "yes_no", "date"] = "number"
    label: Text | None = None


# ---------------------------------------------------------------------- documents
DOCUMENT_FORMATS = ("pdf", "jpeg", "png", "tiff", "bmp", "doc", "docx", "txt")


class Document(Spec):
    id: Identifier
    title: Text
    description: Text | None = None
    formats: tuple[Literal["pdf", "jpeg", "png", "tiff", "bmp", "doc", "docx", "txt"], ...] = (
        "pdf", "jpeg", "png")
    max_size_mb: Annotated[Decimal, Field(gt=0, le=200)] = Decimal(10)
    required: bool = True
    required_when: Expression | None = None
    when: Expression | None = None
    sample: str | None = Field(None, description="path of a sample file, relative to the definition")
    sample_explanation: Text | None = None
    verifiers: tuple[str, ...] = Field((), description="names of document verifier plugins")
    multiple: bool = False
    allow_active_content: bool = Field(False, description=(
        "accept PDFs with JavaScript, launch actions, embedded files, form submit/import actions, "
        "rich media or XFA forms (refused by default: a PDF reader may run them on an officer's computer)"))


# --------------------------------------------------------------------------- fees
PAYMENT_METHODS = ("promptpay", "card", "bank_transfer", "counter", "cheque", "cash")


class Fee(Spec):
    id: Identifier
    title: Text
    amount: Annotated[Expression, WithJsonSchema({
        "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "minLength": 1, "maxLength": 2000}],
        "description": "baht; a number or an expression, e.g. `shop_area * 10`"})] = Field(
        ..., description="baht; a number or an expression, e.g. `shop_area * 10`")
    when: Expression | None = None
    due_days: int = Field(15, ge=1, le=365, description="calendar days to pay after the fee is issued")
    methods: tuple[Literal["promptpay", "card", "bank_transfer", "counter", "cheque", "cash"], ...] = (
        "promptpay",)
    on_overdue: Identifier | None = Field(None, description="transition taken when not paid in time (A-P8)")
    due_days_are: Literal["calendar_days", "working_days"] = Field(
        "calendar_days", description="how `due_days` (and `remind_days_before`) count: calendar days (a last day "
                                     "that is not a working day moves to the next working day) or the agency's "
                                     "working days (A-P8)")
    remind_days_before: int = Field(3, ge=0, le=60, description="e-mail the applicant this many days before the "
                                                                "due date, counted like `due_days` (0: no reminder)")

    @field_validator("amount", mode="before")
    @classmethod
    def _number_as_text(cls, value):
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            if value < 0:
                raise ValueError("a fee cannot be negative")
            return str(value)
        return value


# ----------------------------------------------------------------------- workflow
BUILTIN_ROLES = (
    "applicant", "registry_clerk", "reviewer", "approver", "signing_authority",
    "finance_officer", "head_of_agency", "agency_admin", "system_admin", "system",
)


class RoleDecl(Spec):
    id: Identifier
    title: Text


class Duration(Spec):
    days: int | None = Field(None, ge=1, le=3650)
    working_days: int | None = Field(None, ge=1, le=3650)
    hours: int | None = Field(None, ge=1, le=10_000)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Duration":
        given = [k for k in ("days", "working_days", "hours") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `days`, `working_days`, `hours`")
        return self


class Timer(Spec):
    """After a time in a state, take a transition (e.g. dispose after 30 days)."""

    after: Duration
    transition: Identifier


class State(Spec):
    id: Identifier
    title: Text
    description: Text | None = Field(None, description="what this means for the applicant")
    applicant_action: Text | None = Field(None, description="what the applicant must do now, if anything")
    final: bool = False
    outcome: Literal["approved", "rejected", "disposed", "withdrawn", "referred", "completed"] | None = None
    sla: Literal["running", "paused"] = "running"
    sla_working_days: int | None = Field(None, ge=0, le=365, description="the budget for this state")
    timers: tuple[Timer, ...] = ()
    editable_by_applicant: bool = Field(False, description="the applicant may change answers and documents")

    @model_validator(mode="after")
    def _outcome_only_final(self) -> "State":
        if self.outcome and not self.final:
            raise ValueError("`outcome` is only for final states (add `final: true`)")
        return self


class Input(Spec):
    """Something the officer must give when taking a transition."""

    id: Identifier
    type: Literal["text", "long_text", "date", "choice", "checklist", "number", "money", "yes_no",
                  "documents"] = "long_text"
    label: Text
    required: bool = True
    options: tuple[Option, ...] = ()
    max_days_ahead: int | None = Field(None, ge=0, le=3650, description=(
        "for a date: at most this many days after today (e.g. 30 for a deadline of at most 30 days)"))

    @model_validator(mode="after")
    def _days_only_for_dates(self) -> "Input":
        if self.max_days_ahead is not None and self.type != "date":
            raise ValueError(f"`max_days_ahead` is only for date inputs, not {self.type}")
        return self


class Effect(Spec):
    """What happens when a transition is taken; exactly one key per effect."""

    notify: Identifier | None = Field(None, description="a notification id from `notifications`")
    issue_fee: Identifier | None = Field(None, description="a fee id from `fees`")
    draft_licence: Identifier | None = Field(None, description="a licence id from `outputs.licences`")
    sign_licence: Identifier | None = None
    issue_letter: Identifier | None = Field(None, description="a letter id from `outputs.letters`")
    publish: Identifier | None = Field(None, description="enter a licence in the public register")

    @model_validator(mode="after")
    def _exactly_one(self) -> "Effect":
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError("each effect has exactly one of notify, issue_fee, draft_licence, "
                             "sign_licence, issue_letter, publish")
        return self

    @property
    def kind(self) -> str:
        return next(k for k, v in self.__dict__.items() if v is not None)

    @property
    def target(self) -> str:
        return getattr(self, self.kind)


OneOrMoreIds = Annotated[
    tuple[Identifier, ...],
    WithJsonSchema({"anyOf": [
        {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "minItems": 1},
    ]}),
]


class Transition(Spec):
    id: Identifier
    title: Text
    from_: OneOrMoreIds = Field(..., alias="from", min_length=1, description="one state or a list")
    to: Identifier
    roles: OneOrMoreIds = Field(..., min_length=1, description="one role or a list")
    guard: Expression | None = None
    inputs: tuple[Input, ...] = ()
    effects: tuple[Effect, ...] = ()
    style: Literal["primary", "secondary", "warning"] = "secondary"

    @field_validator("from_", "roles", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return (value,) if isinstance(value, str) else value


class Workflow(Spec):
    initial: Identifier = "submitted"
    states: tuple[State, ...] = Field(..., min_length=2)
    transitions: tuple[Transition, ...] = Field(..., min_length=1)


class SLA(Spec):
    working_days: int = Field(..., ge=0, le=365)
    warn_when_left_working_days: int = Field(1, ge=0, le=365)


# ------------------------------------------------------------------------ outputs
class Validity(Spec):
    years: int | None = Field(None, ge=1, le=100)
    months: int | None = Field(None, ge=1, le=1200)
    days: int | None = Field(None, ge=1, le=36500)
    until_end_of_year: bool = False


class Licence(Spec):
    id: Identifier
    title: Text
    template: str = Field(..., description="HTML template path, relative to the definition")
    number_pattern: str = Field(
        "{agency}-{be_year}-{seq:05d}",
        description="placeholders: {agency} {service} {be_year} {year} {seq}")
    validity: Validity | None = None
    signed_as: Text | None = Field(
        None, description="the position it is signed under, shown under the signature and in the stamp "
                          "(e.g. นายกเทศมนตรีนครนนทบุรี); default: the signing authority")
    register_fields: tuple[Identifier, ...] = Field(
        (), alias="register", description="fields shown in the public register (PL-1)")

    @field_validator("number_pattern")
    @classmethod
    def _pattern_placeholders(cls, value: str) -> str:
        import string
        allowed = {"agency", "service", "be_year", "year", "seq"}
        for _, name, _, _ in string.Formatter().parse(value):
            if name is not None and name not in allowed:
                raise ValueError(f"unknown placeholder {{{name}}}; use {', '.join(sorted(allowed))}")
        return value


class Letter(Spec):
    id: Identifier
    title: Text
    template: str = Field(..., description="HTML template path, relative to the definition")
    signed_as: Text | None = Field(
        None, description="the position it is signed under (see `licences`); default: the signing authority")


class Outputs(Spec):
    licences: tuple[Licence, ...] = ()
    letters: tuple[Letter, ...] = ()


class Notification(Spec):
    subject: Text
    body: Text = Field(..., description="may use {{ application.reference }} and answers")


class Contact(Spec):
    phone: str | None = None
    email: str | None = None
    office: Text | None = None


class Service(Spec):
    """A whole e-Service as an agency declares it."""

    schema_version: Literal[1] = Field(..., description="always 1 for this version of the language")
    kind: Literal["service"] = "service"
    id: ServiceId
    version: int = Field(..., ge=1)
    agency: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
    category: Text
    title: Text
    summary: Text
    who_can_apply: Text | None = None
    steps: tuple[Text, ...] = Field((), description="the steps as the applicant sees them")
    legal_basis: tuple[Text, ...] = Field(..., min_length=1)
    contact: Contact | None = None
    risk_level: Literal["low", "medium", "high"] = "low"
    keywords: tuple[str, ...] = ()
    roles: tuple[RoleDecl, ...] = Field((), description="extra roles beyond the built-in ones")
    form: Form
    calculations: tuple[Calculation, ...] = ()
    documents: tuple[Document, ...] = ()
    fees: tuple[Fee, ...] = ()
    workflow: Workflow
    sla: SLA
    outputs: Outputs = Outputs()
    notifications: dict[Identifier, Notification] = {}


# ------------------------------------------------------------------------ agency
class OfficeHours(Spec):
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon", "tue", "wed", "thu", "fri")
    start: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "08:30"
    end: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "16:30"

    @model_validator(mode="after")
    def _start_before_end(self) -> "OfficeHours":
        if self.start >= self.end:
            raise ValueError("`start` must be before `end`")
        return self


class DayOff(Spec):
    date: dt.date
    name: Text


class Announcement(Spec):
    """The head of agency's announcement, or order, that adopts the e-Service for
    some of the agency's services (CH-2; the standard's §1.6 Annex 1 and §3.6
    Annex 2).  Rendered from ``template``, signed with the agency's certificate
    and published on the agency's public page (:mod:`eservice.outputs.announcements`)."""

    id: Identifier
    kind: Literal["announcement", "order"] = Field(
        ..., description="announcement: ประกาศ (the public announcement of the e-channel); "
                         "order: คำสั่ง (the head's order designating the system as official)")
    title: Text
    template: str = Field(..., description="an HTML template, relative to this agency file")
    services: tuple[ServiceId, ...] = Field(
        (), description="the services it adopts (ids of this agency's services); empty: all of them")
    signed_as: Text = Field(..., description="the signer's position, e.g. นายกเทศมนตรีนครนนทบุรี")


class Agency(Spec):
    schema_version: Literal[1]
    kind: Literal["agency"]
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
    name: Text
    parent: Text | None = None
    address: Text | None = None
    phone: str = Field(..., description="the registry's contact number, shown on acknowledgements (RC-3)")
    email: str | None = None
    website: str | None = None
    timezone: str = "Asia/Bangkok"
    office_hours: OfficeHours = OfficeHours()
    extra_holidays: tuple[DayOff, ...] = ()
    extra_working_days: tuple[dt.date, ...] = ()
    bank_account: Text | None = Field(None, description="the account fees are paid into (PR-12)")
    biller_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")] | None = Field(
        None, description="Thai QR bill-payment biller ID (15 digits: tax id + suffix) for the fee notice's QR (A-P3)")
    promptpay_id: Annotated[str, StringConstraints(pattern=r"^(0[0-9]{9}|[0-9]{13})$")] | None = Field(
        None, description="PromptPay mobile number or tax id, for a PromptPay QR when there is no biller_id (A-P3)")
    announcements: tuple[Announcement, ...] = Field(
        (), description="the head's announcement and order adopting the e-Service (CH-2)")


Service.model_rebuild()
FormField.model_rebuild()


def text_pair(value: Any) -> dict[str, str]:
    """A definition ``Text`` (or a mapping, or a plain string) as ``{"th", "en"}``;
    English falls back to Thai.  Used wherever a text goes into a template or an export."""
    if value is None:
        return {"th": "", "en": ""}
    if isinstance(value, Mapping):
        th = str(value.get("th") or "")
        return {"th": th, "en": str(value.get("en") or th)}
    th = getattr(value, "th", None)
    if th is not None:
        return {"th": th, "en": getattr(value, "en", None) or th}
    return {"th": str(value), "en": str(value)}
