"""Loading definitions from disk into an immutable catalogue of compiled services.

``load()`` reads every YAML file under the given paths, validates each against
the models, runs the cross-reference checks and returns the catalogue together
with *every* problem found (never only the first).  A service is compiled once:
its expressions are compiled, its fields, states and transitions indexed, and its
source text hashed so applications can pin the exact definition they used.

Requirements: A-SP1–A-SP4 (the form, workflow, logic and documents a service declares).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from .. import expr as expressions
from ..plugin_api import get_plugin_manager
from .check import ServiceChecker, check_agency_texts, walk_fields
from .models import Agency, FormField, Service, State, Transition
from .problems import DefinitionError, Problem
from .validation import validate
from .yamlsource import ParsedYaml, SourceMap, parse_yaml

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, eq=False)
class CompiledService:
    """One version of one service, ready for the engine; never changes once built."""

    definition: Service
    agency: Agency
    file: Path
    text: str
    source: SourceMap = field(repr=False)
    expressions: Mapping[str, expressions.Expression] = field(repr=False)

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> int:
        return self.definition.version

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the definition text: what an application pins."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @cached_property
    def fields(self) -> Mapping[str, FormField]:
        """Every field by id, group items included."""
        return MappingProxyType({f.id: f for _, f, _ in walk_fields(self.definition)})

    @cached_property
    def states(self) -> Mapping[str, State]:
        return MappingProxyType({s.id: s for s in self.definition.workflow.states})

    @cached_property
    def transitions(self) -> Mapping[str, Transition]:
        return MappingProxyType({t.id: t for t in self.definition.workflow.transitions})

    def expr(self, source: str) -> expressions.Expression:
        """The compiled form of an expression of this definition."""
        found = self.expressions.get(source)
        return found if found is not None else expressions.compile_expression(source)


@dataclass
class Catalogue:
    """Every agency and every service version that loaded without problems."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    services: dict[tuple[str, int], CompiledService] = field(default_factory=dict)
    # services closed to new applications (unpublished through the web; running ones go on)
    closed: set[str] = field(default_factory=set)
    agency_files: dict[str, Path] = field(default_factory=dict)  # where each agency was declared

    def latest(self, service_id: str) -> CompiledService | None:
        versions = [s for (sid, _), s in self.services.items() if sid == service_id]
        return max(versions, key=lambda s: s.version) if versions else None

    def get(self, service_id: str, version: int) -> CompiledService | None:
        return self.services.get((service_id, version))

    def current(self) -> list[CompiledService]:
        """The newest version of each open service, ordered by agency then title."""
        ids = sorted({sid for sid, _ in self.services} - self.closed)
        found = [self.latest(sid) for sid in ids]
        return sorted((s for s in found if s), key=lambda s: (s.agency.code, s.definition.title.th))

    def of_agency(self, code: str) -> list[CompiledService]:
        return [s for s in self.current() if s.agency.code == code]


def find_yaml(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()))
        else:
            files.append(path)
    seen, unique = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _nearby_agency_files(paths: Iterable[str | Path]) -> list[Path]:
    """Agency files a single-file check needs: any `agencies/` folder above it."""
    found: list[Path] = []
    for raw in paths:
        start = Path(raw).resolve()
        for parent in [start, *start.parents][:4]:
            folder = parent / "agencies"
            if folder.is_dir():
                found.extend(sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES))
                break
    return found


def _plugin_names() -> tuple[dict[str, frozenset[str]], frozenset[str] | None]:
    """Prefill sources (with the keys each declares) and document verifiers
    offered by installed plugins."""
    pm = get_plugin_manager()
    sources: dict[str, frozenset[str]] = {}
    verifiers: set[str] = set()
    for group in pm.hook.eservice_prefill_sources():
        for source in group or ():
            name = getattr(source, "name", source)
            keys = getattr(source, "keys", None) or ()
            sources[name] = sources.get(name, frozenset()) | frozenset(str(k) for k in keys)
    for group in pm.hook.eservice_document_verifiers():
        verifiers.update(getattr(v, "name", v) for v in group or ())
    return sources, frozenset(verifiers)


def _read(path: Path, display: str) -> ParsedYaml:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ParsedYaml(None, SourceMap(display), "", [Problem(
            display, 1, 1, "(file)", "ไม่พบไฟล์", "file not found")])
    except UnicodeDecodeError as exc:
        return ParsedYaml(None, SourceMap(display), "", [Problem(
            display, 1, 1, "(file)", f"ไฟล์ไม่ได้เข้ารหัส UTF-8 ({exc.reason})",
            f"the file is not UTF-8 ({exc.reason})", "บันทึกไฟล์เป็น UTF-8", "save the file as UTF-8")])
    return parse_yaml(text, display)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load(paths: Iterable[str | Path]) -> tuple[Catalogue, list[Problem]]:
    """Load and check every definition under ``paths``; return what loaded and all problems."""
    paths = list(paths)
    catalogue = Catalogue()
    problems: list[Problem] = []
    parsed: list[tuple[Path, ParsedYaml]] = []
    for path in find_yaml([*paths, *_nearby_agency_files(paths)]):
        doc = _read(path, _display(path))
        problems.extend(doc.problems)
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(doc.source.problem((), "ไฟล์ต้องเป็นชุดคีย์: ค่า (mapping)",
                                               "the file must be a mapping of keys to values"))
            continue
        parsed.append((path, doc))

    agency_docs = [(p, d) for p, d in parsed if d.data.get("kind") == "agency"]
    service_docs = [(p, d) for p, d in parsed if d.data.get("kind") != "agency"]
    agency_where: dict[str, tuple[int, str]] = {}
    agency_sources: dict[str, Any] = {}
    for path, doc in agency_docs:
        agency, found = validate(Agency, doc.data, doc.source)
        problems.extend(found)
        if agency is None:
            continue
        problems.extend(check_agency_texts(agency, doc.source))
        if agency.code in catalogue.agencies:
            line, file = agency_where[agency.code]
            problems.append(doc.source.problem(("code",), f"รหัสหน่วยงาน `{agency.code}` ซ้ำกับ {file}:{line}",
                                               f"agency code `{agency.code}` is also used in {file}:{line}"))
            continue
        catalogue.agencies[agency.code] = agency
        catalogue.agency_files[agency.code] = path
        agency_where[agency.code] = (doc.source.position(("code",))[0], doc.source.file)
        agency_sources[agency.code] = doc.source

    prefill_sources, verifiers = _plugin_names()
    service_where: dict[tuple[str, int], str] = {}
    for path, doc in service_docs:
        compiled, found = compile_service(path, doc, catalogue.agencies, prefill_sources, verifiers)
        service = compiled.definition if compiled is not None else None
        if service is None:
            problems.extend(found)
            continue
        key = (service.id, service.version)
        if key in service_where:
            found.append(doc.source.problem(
                ("version",), f"บริการ `{service.id}` ฉบับที่ {service.version} ซ้ำกับ {service_where[key]}",
                f"service `{service.id}` version {service.version} is also defined in {service_where[key]}",
                "เพิ่มเลข `version` เมื่อแก้ไขบริการ", "raise `version` when you change a service"))
        problems.extend(found)
        if found:
            continue
        service_where[key] = doc.source.file
        catalogue.services[key] = compiled
    declared: dict[str, set[str]] = {}  # services a file declares, loaded or not (no cascade of problems)
    for _path, doc in service_docs:
        declared.setdefault(str(doc.data.get("agency")), set()).add(str(doc.data.get("id")))
    # Announcements are checked with their agency file, not when that file is only pulled in
    # to check one service file (the agency's other services are not loaded then).
    given = {p.resolve() for p in find_yaml(paths)}
    checked = {c: src for c, src in agency_sources.items() if catalogue.agency_files[c].resolve() in given}
    problems.extend(_announcement_problems(catalogue, checked, declared))
    problems.sort(key=lambda p: (p.file, p.line, p.column))
    return catalogue, problems


def compile_service(path: Path, doc: ParsedYaml, agencies: Mapping[str, Agency],
                    prefill_sources: frozenset[str] | None = None, verifiers: frozenset[str] | None = None,
                    check_files: bool = True) -> tuple[CompiledService | None, list[Problem]]:
    """Validate and check one parsed service document, as :func:`load` does for
    each file: the compiled service (also when problems were found, so callers
    can tell which service it was; use it only when the list is empty) and
    every problem.  The web editor checks a draft through this same function."""
    if prefill_sources is None:
        prefill_sources, verifiers = _plugin_names()
    service, found = validate(Service, doc.data, doc.source)
    if service is None:
        return None, list(found)
    checker = ServiceChecker(service, doc.source, path, dict(agencies), prefill_sources, verifiers,
                             check_files=check_files)
    found = [*found, *checker.run()]
    agency = agencies.get(service.agency)
    if agency is None:
        return None, found
    return CompiledService(definition=service, agency=agency, file=path, text=doc.text, source=doc.source,
                           expressions=MappingProxyType(dict(checker.compiled))), found


def _announcement_problems(catalogue: Catalogue, sources: dict[str, Any],
                           declared: dict[str, set[str]]) -> list[Problem]:
    """The agencies' announcements and orders (CH-2): templates exist and render,
    services are the agency's own (:mod:`eservice.outputs.announcements`)."""
    from ..outputs.announcements import announcement_problems

    found = []
    for code, agency in catalogue.agencies.items():
        if agency.announcements and code in sources:
            for path, th, en in announcement_problems(agency, catalogue.agency_files[code], catalogue,
                                                      declared.get(code, set())):
                found.append(sources[code].problem(path, th, en))
    return found


def compile_kept(text: str, catalogue: Catalogue, near: Path | None = None) -> CompiledService:
    """Compile a definition text kept in the store (a version no longer on disk,
    or edited in place without a new ``version``), so applications pinned to it
    keep their own rules.  Its templates and samples are looked up beside ``near``
    (the current file of the same service) and are not required to exist."""
    doc = parse_yaml(text, "(kept definition)")
    if doc.data is None or doc.problems:
        raise DefinitionError(doc.problems)
    service, problems = validate(Service, doc.data, doc.source)
    if service is None:
        raise DefinitionError(problems)
    file = near or Path("service_definitions") / f"{service.id}.yaml"
    checker = ServiceChecker(service, doc.source, file, catalogue.agencies, *_plugin_names(), check_files=False)
    found = checker.run()
    if found:
        raise DefinitionError(found)
    return CompiledService(definition=service, agency=catalogue.agencies[service.agency], file=file, text=text,
                           source=doc.source, expressions=MappingProxyType(dict(checker.compiled)))


def load_or_raise(paths: Iterable[str | Path]) -> Catalogue:
    catalogue, problems = load(paths)
    if problems:
        raise DefinitionError(problems)
    return catalogue
