"""Load-time checks across a whole service definition.

pydantic checks the shape of each key; this module checks what only the whole
document can tell: unique ids, expressions that compile and name only declared
things, calculations without cycles, a workflow whose states are reachable and
never a dead end, files that exist, and Thai in every text.

Requirements: A-SP1–A-SP4.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path as FsPath

from pydantic import BaseModel

from .. import expr as expressions
from ..expr.types import DYN, T, check_result, check_types
from .models import BUILTIN_ROLES, Agency, FieldType, FormField, Service
from .models import PROFILE_KEYS as PREFILL_PROFILE_KEYS
from .problems import Path, Problem, did_you_mean
from .text import Text
from .types import CALCULATION_TYPES, field_type, guard_names, item_type, with_types
from .yamlsource import SourceMap

# Names every guard may use besides fields and calculations.
GUARD_NAMES = frozenset({"input", "paid", "state", "documents"})
PROFILE_KEYS = frozenset(PREFILL_PROFILE_KEYS)


def walk_fields(service: Service) -> Iterator[tuple[Path, FormField, FormField | None]]:
    """Every field with its document path and the group it belongs to (if any)."""
    for si, section in enumerate(service.form.sections):
        for pi, page in enumerate(section.pages):
            for fi, field in enumerate(page.fields):
                path = ("form", "sections", si, "pages", pi, "fields", fi)
                yield path, field, None
                for gi, item in enumerate(field.fields):
                    yield path + ("fields", gi), item, field


def walk_texts(node: object, path: Path = ()) -> Iterator[tuple[Path, Text]]:
    if isinstance(node, Text):
        yield path, node
    elif isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            yield from walk_texts(getattr(node, name), path + (info.alias or name,))
    elif isinstance(node, (tuple, list)):
        for i, item in enumerate(node):
            yield from walk_texts(item, path + (i,))
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from walk_texts(item, path + (key,))


class ServiceChecker:
    """Collects every problem of one service definition; never stops at the first."""

    def __init__(self, service: Service, source: SourceMap, file: FsPath,
                 agencies: dict[str, Agency],
                 prefill_sources: Mapping[str, frozenset[str]] | frozenset[str] = frozenset(),
                 verifiers: frozenset[str] | None = None, check_files: bool = True):
        self.s = service
        self.check_files = check_files
        self.src = source
        self.file = file
        self.agencies = agencies
        # source name -> the keys its plugin declares (a bare set of names: keys unknown, none accepted)
        self.prefill_sources: Mapping[str, frozenset[str]] = (
            prefill_sources if isinstance(prefill_sources, Mapping) else dict.fromkeys(prefill_sources, frozenset()))
        self.verifiers = verifiers
        self.problems: list[Problem] = []
        self.compiled: dict[str, expressions.Expression] = {}
        self.types: dict[str, T] = {}  # the type of every field and calculation (expr.types)

    # -- helpers -------------------------------------------------------------
    def report(self, path: Path, th: str, en: str, fix: tuple[str, str] = ("", ""),
               prefer_key: bool = False) -> None:
        self.problems.append(self.src.problem(path, th, en, fix[0], fix[1], prefer_key))

    def unique(self, items: list[tuple[Path, str]], what_th: str, what_en: str) -> None:
        seen: dict[str, Path] = {}
        for path, ident in items:
            if ident in seen:
                line = self.src.position(seen[ident])[0]
                self.report(path + ("id",), f"รหัส{what_th} `{ident}` ซ้ำกับบรรทัด {line}",
                            f"{what_en} id `{ident}` is used twice (also at line {line})",
                            ("ตั้งรหัสใหม่ที่ไม่ซ้ำ", "give it a different id"))
            else:
                seen[ident] = path

    def expression(self, path: Path, source: str | None, declared: set[str],
                   types: dict[str, T] | None = None, want: str | None = None) -> T:
        """Compile *source*, check its names and (given *types*) its types; *want*
        ``bool`` or ``money`` is what its place needs.  Whole numbers meeting
        decimals are converted (expr.types): the compiled form is the rewritten text."""
        if source is None:
            return DYN
        try:
            compiled = expressions.compile_expression(source)
        except expressions.ExpressionError as exc:
            self.report(path, f"นิพจน์ `{source}` ใช้ไม่ได้: {exc.th}",
                        f"expression `{source}` does not compile: {exc.en}",
                        ("ตรวจวงเล็บ เครื่องหมายคำพูด และตัวดำเนินการ (&&, ||, ==)",
                         "check brackets, quotes and operators (&&, ||, ==)"))
            return DYN
        self.compiled.setdefault(source, compiled)
        unknown = sorted(compiled.names - declared)
        for name in unknown:
            self.report(path, f"นิพจน์ `{source}` ใช้ชื่อ `{name}` ที่ไม่ได้ประกาศไว้",
                        f"expression `{source}` uses `{name}`, which is not declared",
                        did_you_mean(name, declared))
        missing = sorted(compiled.functions - expressions.KNOWN_FUNCTIONS)
        for name in missing:
            self.report(path, f"นิพจน์ `{source}` เรียกฟังก์ชัน `{name}()` ที่ไม่มี",
                        f"expression `{source}` calls `{name}()`, which does not exist",
                        did_you_mean(name, expressions.KNOWN_FUNCTIONS))
        if types is None or unknown or missing:
            return DYN
        result = check_types(source, compiled._tree, types)
        for p in result.problems:
            self.report(path, f"นิพจน์ `{source}` (ตัวอักษรที่ {p.pos + 1}): {p.th}",
                        f"expression `{source}` (at character {p.pos + 1}): {p.en}", (p.fix_th, p.fix_en))
        if want is not None and not result.problems:
            wrong = check_result(result.type, want)
            if wrong:
                self.report(path, f"นิพจน์ `{source}`: {wrong[0]}", f"expression `{source}`: {wrong[1]}",
                            (wrong[2], wrong[3]))
        if result.rewritten != source and not result.problems:
            try:
                self.compiled[source] = expressions.compile_expression(result.rewritten)
            except expressions.ExpressionError as exc:  # e.g. longer than allowed once converted
                self.report(path, f"นิพจน์ `{source}` ใช้ไม่ได้เมื่อแปลงจำนวนเต็มเป็นทศนิยม: {exc.th}",
                            f"expression `{source}` fails once whole numbers are made decimals: {exc.en}",
                            ("เขียนตัวเลขเป็นทศนิยม เช่น `5.0`", "write the numbers as decimals, e.g. `5.0`"))
        return result.type

    # -- the checks ------------------------------------------------------------
    def run(self) -> list[Problem]:
        self.check_agency()
        names = self.check_ids()
        self.check_form_expressions(names)
        self.check_calculation_cycles()
        self.check_documents(names)
        self.check_fees(names)
        self.check_workflow(names)
        self.check_outputs()
        self.check_notifications()
        self.check_texts()
        self.check_unbuilt_keys()
        if not self.problems and self.check_files:
            self.check_templates()
        return self.problems

    def check_templates(self) -> None:
        """Render every licence and letter template against sample answers and
        inputs (strict names: a typo is a problem here, not a blank on a licence)."""
        from types import SimpleNamespace

        from ..outputs.check import template_problems

        compiled = self.compiled
        stand_in = SimpleNamespace(
            definition=self.s, agency=self.agencies[self.s.agency], file=self.file, id=self.s.id,
            version=self.s.version,
            expr=lambda source: compiled.get(source) or expressions.compile_expression(source))
        for path, th, en in template_problems(stand_in):
            self.report(path, th, en, ("แก้ชื่อที่ใช้ในแม่แบบให้ตรงกับข้อมูลที่มี (ดู docs/service-definition.md)",
                                       "use only the names a template is given (see docs/service-definition.md)"))

    def check_notifications(self) -> None:
        from ..notifications import template_problem

        broken: set[str] = set()
        for name, notification in self.s.notifications.items():
            for part in ("subject", "body"):
                text = getattr(notification, part)
                for lang in ("th", "en"):
                    source = getattr(text, lang)
                    problem = template_problem(source) if source else None
                    if problem:
                        self.report(("notifications", name, part, lang),
                                    f"แม่แบบข้อความแจ้งเตือนใช้ไม่ได้: {problem}",
                                    f"the notification template does not compile: {problem}",
                                    ("ตรวจเครื่องหมาย {{ }} และ {% %} ให้เปิดปิดครบ",
                                     "check that every {{ }} and {% %} is closed"))
                        broken.add(name)
        if self.s.agency not in self.agencies:
            return
        from types import MappingProxyType, SimpleNamespace

        from ..template_vars import notification_problems

        stand_in = SimpleNamespace(
            definition=self.s, agency=self.agencies[self.s.agency], id=self.s.id, version=self.s.version,
            states=MappingProxyType({x.id: x for x in self.s.workflow.states}),
            transitions=MappingProxyType({x.id: x for x in self.s.workflow.transitions}))
        for path, th, en in notification_problems(stand_in):
            if path[1] not in broken:
                self.report(path, th, en, ("ใช้เฉพาะชื่อที่ข้อความแจ้งเตือนได้รับ (ดู \"Names in templates\" ใน "
                                           "docs/service-definition.md)",
                                           "use only the names a notification is given (see \"Names in "
                                           "templates\" in docs/service-definition.md)"))

    def check_agency(self) -> None:
        if self.s.agency not in self.agencies:
            self.report(("agency",), f"ไม่พบหน่วยงาน `{self.s.agency}`",
                        f"agency `{self.s.agency}` is not declared",
                        did_you_mean(self.s.agency, self.agencies) if self.agencies else
                        ("ประกาศหน่วยงานในไฟล์ YAML ที่มี `kind: agency`",
                         "declare the agency in a YAML file with `kind: agency`"))

    def check_ids(self) -> set[str]:
        s = self.s
        sections = [(("form", "sections", i), x.id) for i, x in enumerate(s.form.sections)]
        pages = [(("form", "sections", si, "pages", pi), p.id)
                 for si, sec in enumerate(s.form.sections) for pi, p in enumerate(sec.pages)]
        self.unique(sections, "ส่วน", "section")
        self.unique(pages, "หน้า", "page")
        named = [(path, f.id) for path, f, _ in walk_fields(s)]
        named += [(("calculations", i), c.id) for i, c in enumerate(s.calculations)]
        self.unique(named, "ช่องข้อมูล/การคำนวณ", "field or calculation")
        self.unique([(("documents", i), d.id) for i, d in enumerate(s.documents)], "เอกสาร", "document")
        self.unique([(("fees", i), f.id) for i, f in enumerate(s.fees)], "ค่าธรรมเนียม", "fee")
        self.unique([(("workflow", "states", i), x.id) for i, x in enumerate(s.workflow.states)],
                    "สถานะ", "state")
        self.unique([(("workflow", "transitions", i), x.id)
                     for i, x in enumerate(s.workflow.transitions)], "การดำเนินการ", "transition")
        self.unique([(("roles", i), r.id) for i, r in enumerate(s.roles)], "บทบาท", "role")
        outputs = [(("outputs", "licences", i), x.id) for i, x in enumerate(s.outputs.licences)]
        outputs += [(("outputs", "letters", i), x.id) for i, x in enumerate(s.outputs.letters)]
        self.unique(outputs, "เอกสารที่ออก", "output")
        for ti, tr in enumerate(s.workflow.transitions):
            self.unique([(("workflow", "transitions", ti, "inputs", i), x.id)
                         for i, x in enumerate(tr.inputs)], "ข้อมูลที่ต้องกรอก", "input")
        return {f.id for _, f, group in walk_fields(s) if group is None} | {c.id for c in s.calculations}

    def check_form_expressions(self, names: set[str]) -> None:
        types = self.types
        for _, field, group in walk_fields(self.s):
            if group is None:
                types[field.id] = field_type(field)
        self.check_calculation_types(names)
        for si, section in enumerate(self.s.form.sections):
            for pi, page in enumerate(section.pages):
                self.expression(("form", "sections", si, "pages", pi, "when"), page.when, names, types, "bool")
        for path, field, group in walk_fields(self.s):
            scope = names | ({f.id for f in group.fields} if group else set())
            scoped = with_types(types, item_type(group).fields) if group else types
            self.expression(path + ("when",), field.when, scope, scoped, "bool")
            self.expression(path + ("required_when",), field.required_when, scope, scoped, "bool")
            for ri, rule in enumerate(field.rules):
                self.expression(path + ("rules", ri, "check"), rule.check, scope, scoped, "bool")
            if field.prefill:
                self.check_prefill(path + ("prefill",), field.prefill)

    def check_calculation_types(self, names: set[str]) -> None:
        """Each calculation's type is what its expression gives (calculations read
        each other: checked in the order they depend on each other)."""
        calcs = {c.id: (ci, c) for ci, c in enumerate(self.s.calculations)}
        order: list[str] = []
        seen: set[str] = set()

        def visit(cid: str) -> None:  # dependencies first; a cycle is reported elsewhere
            if cid in seen:
                return
            seen.add(cid)
            try:
                used = expressions.compile_expression(calcs[cid][1].expr).names & calcs.keys()
            except expressions.ExpressionError:
                used = set()
            for dep in sorted(used):
                visit(dep)
            order.append(cid)

        for cid in calcs:
            self.types[cid] = DYN
        for cid in calcs:
            visit(cid)
        for cid in order:
            ci, calc = calcs[cid]
            want = "money" if calc.type == "money" else None
            result = self.expression(("calculations", ci, "expr"), calc.expr, names, self.types, want)
            declared = CALCULATION_TYPES.get(calc.type)
            if calc.type == "money":
                self.types[cid] = declared
                continue
            mismatch = (not result.numeric and result.kind != "dyn") if calc.type == "number" else (
                declared is not None and result.kind not in ("dyn", declared.kind))
            if mismatch:
                self.report(("calculations", ci, "type"),
                            f"การคำนวณ `{calc.id}` ประกาศเป็น `{calc.type}` แต่นิพจน์ให้{result.name}",
                            f"calculation `{calc.id}` is declared `{calc.type}` but its expression gives a "
                            f"{result.name}", ("แก้ `type:` ให้ตรงกับผลของนิพจน์",
                                               "make `type:` match what the expression gives "
                                               "(`type: number` is the default)"))
            self.types[cid] = result

    def check_prefill(self, path: Path, prefill: str) -> None:
        source, _, key = prefill.partition(".")
        if source == "profile":
            if key not in PROFILE_KEYS:
                self.report(path, f"ไม่มีข้อมูล `{key}` ในโปรไฟล์ผู้ยื่น",
                            f"the applicant profile has no `{key}`", did_you_mean(key, PROFILE_KEYS))
        elif source not in self.prefill_sources:
            self.report(path, f"ไม่รู้จักแหล่งข้อมูลเติมอัตโนมัติ `{source}`",
                        f"unknown prefill source `{source}`",
                        did_you_mean(source, {"profile", *self.prefill_sources}))
        elif key not in self.prefill_sources[source]:
            keys = self.prefill_sources[source]
            self.report(path, f"แหล่งข้อมูล `{source}` ไม่มีคีย์ `{key}`",
                        f"the prefill source `{source}` offers no key `{key}`",
                        did_you_mean(key, keys) if keys else
                        (f"ปลั๊กอิน `{source}` ไม่ได้ประกาศคีย์ใด (`keys`): ติดต่อผู้ดูแลปลั๊กอิน",
                         f"the plugin `{source}` declares no `keys`: ask its maintainer"))

    def check_calculation_cycles(self) -> None:
        calcs = {c.id: i for i, c in enumerate(self.s.calculations)}
        deps: dict[str, set[str]] = {}
        for c in self.s.calculations:
            compiled = self.compiled.get(c.expr)
            deps[c.id] = (compiled.names & calcs.keys()) if compiled else set()
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(node: str, trail: list[str]) -> None:
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                cycle = trail[trail.index(node):] + [node]
                shown = " → ".join(cycle)
                self.report(("calculations", calcs[node], "expr"),
                            f"การคำนวณอ้างอิงวนกลับมาที่ตัวเอง: {shown}",
                            f"calculations refer to each other in a cycle: {shown}",
                            ("ให้การคำนวณหนึ่งไม่ต้องใช้อีกตัว", "break the cycle"))
                return
            state[node] = 1
            for dep in sorted(deps[node]):
                visit(dep, trail + [node])
            state[node] = 2

        for name in calcs:
            visit(name, [])

    def check_documents(self, names: set[str]) -> None:
        for di, doc in enumerate(self.s.documents):
            path = ("documents", di)
            self.expression(path + ("when",), doc.when, names, self.types, "bool")
            self.expression(path + ("required_when",), doc.required_when, names, self.types, "bool")
            if doc.sample:
                self.check_file(path + ("sample",), doc.sample)
            if self.verifiers is not None:
                for vi, name in enumerate(doc.verifiers):
                    if name not in self.verifiers:
                        self.report(path + ("verifiers", vi), f"ไม่มีปลั๊กอินตรวจเอกสาร `{name}`",
                                    f"no document verifier plugin named `{name}`",
                                    did_you_mean(name, self.verifiers))

    def check_fees(self, names: set[str]) -> None:
        transitions = {t.id for t in self.s.workflow.transitions}
        for fi, fee in enumerate(self.s.fees):
            self.expression(("fees", fi, "amount"), fee.amount, names, self.types, "money")
            self.expression(("fees", fi, "when"), fee.when, names, self.types, "bool")
            if fee.on_overdue and fee.on_overdue in transitions and "system" not in next(
                    t for t in self.s.workflow.transitions if t.id == fee.on_overdue).roles:
                self.report(("fees", fi, "on_overdue"),
                            f"`{fee.on_overdue}` ต้องมีบทบาท `system` จึงจะทำงานเองได้",
                            f"`{fee.on_overdue}` needs the role `system` to run by itself",
                            (f"เพิ่ม `system` ใน `roles` ของ `{fee.on_overdue}`",
                             f"add `system` to the `roles` of `{fee.on_overdue}`"))
            if fee.on_overdue and fee.on_overdue not in transitions:
                self.report(("fees", fi, "on_overdue"), f"ไม่มีการดำเนินการ `{fee.on_overdue}`",
                            f"no transition `{fee.on_overdue}`", did_you_mean(fee.on_overdue, transitions))
            self.check_fee_timing(fi, fee)

    def check_fee_timing(self, fi: int, fee) -> None:
        """A-P8: the reminder falls after the issue day; ``on_overdue`` leaves a
        state the fee is issued into."""
        if fee.remind_days_before and fee.remind_days_before >= fee.due_days:
            self.report(("fees", fi, "remind_days_before"),
                        f"เตือนก่อนครบกำหนด {fee.remind_days_before} วัน แต่ให้ชำระภายใน {fee.due_days} วัน "
                        f"จึงไม่มีวันเตือน", f"a reminder {fee.remind_days_before} days before the due date "
                        f"cannot go when the fee is due {fee.due_days} days after it is issued",
                        (f"ใช้ `remind_days_before` น้อยกว่า {fee.due_days} หรือ 0 (ไม่เตือน)",
                         f"use a `remind_days_before` below {fee.due_days}, or 0 (no reminder)"))
        issuing = [t for t in self.s.workflow.transitions
                   if any(e.kind == "issue_fee" and e.target == fee.id for e in t.effects)]
        target = next((t for t in self.s.workflow.transitions if t.id == fee.on_overdue), None)
        if target is None or not issuing or any(t.to in target.from_ for t in issuing):
            return
        states = sorted({t.to for t in issuing})
        self.report(("fees", fi, "on_overdue"),
                    f"`{fee.on_overdue}` ไม่ได้เริ่มจากสถานะที่ออกค่าธรรมเนียมนี้ ({', '.join(states)}) "
                    f"จึงจะไม่ถูกใช้เมื่อเลยกำหนดชำระ",
                    f"`{fee.on_overdue}` does not start from the state this fee is issued into "
                    f"({', '.join(states)}), so it could never run when the fee is overdue",
                    (f"เพิ่ม {', '.join(states)} ใน `from` ของ `{fee.on_overdue}`",
                     f"add {', '.join(states)} to the `from` of `{fee.on_overdue}`"))

    def check_file(self, path: Path, relative: str) -> None:
        if not self.check_files:
            return
        target = (self.file.parent / relative).resolve()
        if not target.is_file():
            self.report(path, f"ไม่พบไฟล์ `{relative}`", f"file `{relative}` does not exist",
                        (f"วางไฟล์ไว้ที่ {target}", f"put the file at {target}"))

    def check_workflow(self, names: set[str]) -> None:
        wf = self.s.workflow
        states = {s.id: s for s in wf.states}
        roles = set(BUILTIN_ROLES) | {r.id for r in self.s.roles}
        refs = {
            "notify": set(self.s.notifications), "issue_fee": {f.id for f in self.s.fees},
            "draft_licence": {x.id for x in self.s.outputs.licences},
            "sign_licence": {x.id for x in self.s.outputs.licences},
            "publish": {x.id for x in self.s.outputs.licences},
            "issue_letter": {x.id for x in self.s.outputs.letters},
        }
        if wf.initial not in states:
            self.report(("workflow", "initial"), f"ไม่มีสถานะ `{wf.initial}`", f"no state `{wf.initial}`",
                        did_you_mean(wf.initial, states))
        outgoing: dict[str, list[str]] = {s: [] for s in states}
        for ti, tr in enumerate(wf.transitions):
            path = ("workflow", "transitions", ti)
            for fi, origin in enumerate(tr.from_):
                if origin not in states:
                    self.report(path + ("from", fi), f"ไม่มีสถานะ `{origin}`", f"no state `{origin}`",
                                did_you_mean(origin, states))
                else:
                    outgoing[origin].append(tr.to)
            if tr.to not in states:
                self.report(path + ("to",), f"ไม่มีสถานะ `{tr.to}`", f"no state `{tr.to}`",
                            did_you_mean(tr.to, states))
            for ri, role in enumerate(tr.roles):
                if role not in roles:
                    self.report(path + ("roles", ri), f"ไม่มีบทบาท `{role}`", f"no role `{role}`",
                                did_you_mean(role, roles))
            self.expression(path + ("guard",), tr.guard, names | GUARD_NAMES,
                            with_types(self.types, guard_names(tr.inputs)), "bool")
            for ei, effect in enumerate(tr.effects):
                if effect.target not in refs[effect.kind]:
                    self.report(path + ("effects", ei, effect.kind),
                                f"`{effect.kind}` อ้างถึง `{effect.target}` ที่ไม่ได้ประกาศ",
                                f"`{effect.kind}` names `{effect.target}`, which is not declared",
                                did_you_mean(effect.target, refs[effect.kind]))
        by_id = {t.id: t for t in wf.transitions}
        for si, state in enumerate(wf.states):
            for ti, timer in enumerate(state.timers):
                tr = by_id.get(timer.transition)
                path = ("workflow", "states", si, "timers", ti, "transition")
                if tr is None:
                    self.report(path, f"ไม่มีการดำเนินการ `{timer.transition}`",
                                f"no transition `{timer.transition}`", did_you_mean(timer.transition, by_id))
                elif "system" not in tr.roles:
                    self.report(path, f"ตัวจับเวลาใช้ `{timer.transition}` ซึ่งไม่มีบทบาท `system`",
                                f"the timer's transition `{timer.transition}` lacks the role `system`, "
                                "so it could never fire",
                                (f"เพิ่ม `system` ใน `roles` ของ `{timer.transition}`",
                                 f"add `system` to the `roles` of `{timer.transition}`"))
                elif state.id not in tr.from_:
                    self.report(path, f"`{timer.transition}` ไม่ได้ออกจากสถานะ `{state.id}`",
                                f"`{timer.transition}` does not start from state `{state.id}`",
                                (f"เพิ่ม `{state.id}` ใน `from` ของ `{timer.transition}`",
                                 f"add `{state.id}` to the `from` of `{timer.transition}`"))
        # reachability and dead ends
        reachable, frontier = {wf.initial}, [wf.initial]
        # the platform's referral step (RC-2) enters the `referred` state from any open state
        referred = next((st.id for st in wf.states if st.id == "referred"), None) or \
            next((st.id for st in wf.states if st.outcome == "referred"), None)
        if referred is not None:
            reachable.add(referred)
        while frontier:
            for nxt in outgoing.get(frontier.pop(), []):
                if nxt in states and nxt not in reachable:
                    reachable.add(nxt)
                    frontier.append(nxt)
        graph_complete = wf.initial in states and all(
            tr.to in states and all(o in states for o in tr.from_) for tr in wf.transitions)
        for si, state in enumerate(wf.states):
            path = ("workflow", "states", si)
            if graph_complete and state.id not in reachable:
                self.report(path + ("id",), f"ไปไม่ถึงสถานะ `{state.id}` จากสถานะเริ่มต้น",
                            f"state `{state.id}` cannot be reached from `{wf.initial}`",
                            ("เพิ่มการดำเนินการที่มีปลายทาง (`to`) เป็นสถานะนี้ หรือลบสถานะนี้",
                             "add a transition with this state as its `to`, or remove the state"))
            if not state.final and not outgoing[state.id]:
                self.report(path + ("id",), f"สถานะ `{state.id}` ไม่มีทางไปต่อ",
                            f"state `{state.id}` has no way out",
                            ("เพิ่มการดำเนินการจากสถานะนี้ หรือกำหนด `final: true`",
                             "add a transition from it, or mark it `final: true`"))
            if state.final and outgoing[state.id]:
                self.report(path + ("final",), f"สถานะสิ้นสุด `{state.id}` ยังมีการดำเนินการออกไป",
                            f"final state `{state.id}` has transitions leaving it",
                            ("เอา `final: true` ออก หรือลบ `from` ที่อ้างถึงสถานะนี้",
                             "remove `final: true` or those transitions"))
        if not any(s.final for s in wf.states):
            self.report(("workflow", "states"), "ไม่มีสถานะสิ้นสุด", "no state is final",
                        ("กำหนด `final: true` ให้สถานะที่งานจบ", "mark the finishing states `final: true`"))

    def check_outputs(self) -> None:
        fields = {f.id: f for _, f, group in walk_fields(self.s) if group is None}
        names = set(fields) | {c.id for c in self.s.calculations}  # the register shows fields and calculations
        reserved = {"agency", "service", "licence", "licence_number", "status", "issued_on", "valid_until"}
        for li, lic in enumerate(self.s.outputs.licences):
            self.check_file(("outputs", "licences", li, "template"), lic.template)
            for ri, name in enumerate(lic.register_fields):
                path = ("outputs", "licences", li, "register", ri)
                if name not in names:
                    self.report(path, f"ไม่มีช่องข้อมูลหรือการคำนวณ `{name}`", f"no field or calculation `{name}`",
                                did_you_mean(name, names))
                elif name in reserved:  # the register's exports have a column of that name already
                    self.report(path, f"`{name}` ซ้ำกับชื่อคอลัมน์ของทะเบียน", f"`{name}` is a column the register "
                                f"already has", ("เปลี่ยน id ของช่องข้อมูล", "rename the field"))
                elif name in fields and fields[name].type.value == "thai_national_id":
                    self.report(path, "เลขประจำตัวประชาชนเป็นข้อมูลส่วนบุคคล ห้ามแสดงในทะเบียนสาธารณะ",
                                "a national ID number is personal data and must not be shown in the public register",
                                ("ลบออกจาก `register`", "remove it from `register`"))
        for li, letter in enumerate(self.s.outputs.letters):
            self.check_file(("outputs", "letters", li, "template"), letter.template)

    def check_unbuilt_keys(self) -> None:
        """Keys of the language that nothing acts on yet are refused, never ignored
        (issue #10 item 3): a clerk must not believe they work."""
        if "risk_level" in self.s.model_fields_set:
            self.report(("risk_level",), "`risk_level` ยังไม่มีผล (ระดับการพิสูจน์ตัวตนตามความเสี่ยงยังไม่พร้อมใช้งาน)",
                        "`risk_level` is not yet available: nothing acts on it (identity assurance by risk "
                        "is later work)", ("ลบ `risk_level` ออก", "remove `risk_level`"), prefer_key=True)
        for si, state in enumerate(self.s.workflow.states):
            if "sla_working_days" in state.model_fields_set:
                self.report(("workflow", "states", si, "sla_working_days"),
                            "`sla_working_days` ของแต่ละสถานะยังไม่มีผล (ระบบนับเฉพาะ `sla.working_days` ของทั้งบริการ)",
                            "per-state `sla_working_days` is not yet available: only the service's "
                            "`sla.working_days` is counted",
                            ("ลบออก และใช้ `sla.working_days` ของบริการ (จะเขียนเป็นหมายเหตุ `#` ไว้ก็ได้)",
                             "remove it and use the service's `sla.working_days` (keep it as a `#` comment "
                             "if you like)"), prefer_key=True)

    def check_texts(self) -> None:
        for path, text in walk_texts(self.s):
            if not text.th.strip() or not text.has_thai:
                self.report(path, "ข้อความนี้ไม่มีภาษาไทย", "this text has no Thai",
                            ("เขียนข้อความภาษาไทยใน `th:` (และภาษาอังกฤษใน `en:`)",
                             "write the Thai text under `th:` (and English under `en:`)"))


def check_agency_texts(agency: Agency, source: SourceMap) -> list[Problem]:
    problems = [source.problem(path, "ข้อความนี้ไม่มีภาษาไทย", "this text has no Thai",
                               "เขียนข้อความภาษาไทยใน `th:`", "write the Thai text under `th:`")
                for path, text in walk_texts(agency) if not text.has_thai]
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:  # the working calendar counts office hours in it (eservice.calendar.from_agency)
        ZoneInfo(agency.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(source.problem(("timezone",), f"ไม่รู้จักเขตเวลา `{agency.timezone}`",
                                       f"unknown time zone `{agency.timezone}`",
                                       "ใช้ `Asia/Bangkok`", "use `Asia/Bangkok` (an IANA time zone name)"))
    return problems
