"""The shape of the code (#20): imports run one way, modules stay small, the core
stays below the web layer, the renderers and the plugins.

The import graph is read from the source with :mod:`ast` (nothing is imported):
every ``import`` and ``from … import`` of an ``eservice`` module in ``platform/``,
``renderers/`` and ``plugins/``, at module level and inside functions alike.
Imports under ``if TYPE_CHECKING:`` are left out: they never run, and they are
how a module names a type without importing its module.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
# folder -> import name (pyproject.toml, [tool.setuptools] package-dir)
FOLDERS = {"platform": "eservice", "renderers": "eservice.renderers", "plugins": "eservice.plugins"}
MAX_LINES = 700

# The core modules that may import the web layer or the renderers, and why.
CORE_MAY_IMPORT = {
    # the command line sits above everything: it seeds the demo accounts the web app shows
    ("eservice.cli", "eservice.web.demo"),
    # a visible signature stamp is drawn text: it needs the Thai font the renderers ship
    ("eservice.signing", "eservice.renderers.fonts"),
    # issuing a licence or a letter renders it to PDF (that is what outputs/ is for)
    ("eservice.outputs.check", "eservice.renderers.pdf"),
    ("eservice.outputs.context", "eservice.renderers.pdf"),
    ("eservice.outputs.issue", "eservice.renderers.pdf"),
    ("eservice.outputs.render", "eservice.renderers.pdf"),
    # the fee notice and the receipt are documents too: their templates, Thai dates (#8)
    ("eservice.payments.documents", "eservice.renderers.pdf"),
    # the platform's own referral letter (RC-2) is a template the renderers ship
    ("eservice.outputs.referral_letter", "eservice.renderers.pdf"),
    ("eservice.outputs.announcements", "eservice.renderers.pdf"),
}
OUTSIDE_THE_CORE = ("eservice.web", "eservice.renderers", "eservice.plugins")


@lru_cache(maxsize=None)
def modules() -> dict[str, tuple[Path, bool]]:
    """Import name -> (file, is a package's ``__init__``)."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join([package, *parts])] = (path, is_package)
    return found


def _known(name: str) -> str | None:
    """The module ``name`` is, or is in (``eservice.store.ConflictError`` -> ``eservice.store``)."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


@lru_cache(maxsize=None)
def imports() -> dict[str, set[str]]:
    """Module -> the eservice modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if is_package else name.rpartition(".")[0]
        skipped = _type_checking_only(tree)
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                found.update(filter(None, (_known(alias.name) for alias in node.names)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                for alias in node.names:
                    submodule = f"{origin}.{alias.name}"
                    target = submodule if submodule in modules() else _known(origin)
                    if target:
                        found.add(target)
        found.discard(name)
        graph[name] = found
    return graph


def mutual_imports() -> list[tuple[str, str]]:
    graph = imports()
    return sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ()))


def test_the_graph_sees_module_level_and_function_level_imports():
    graph = imports()
    assert "eservice.submission" in graph["eservice.workflow"]  # `from . import … submission`
    assert "eservice.store" in graph["eservice.workflow"]  # `from .store import ConflictError`
    assert "eservice.dates" in graph["eservice.renderers.dates"]  # `from ..dates import …`
    assert "eservice.thai_ids" in graph["eservice.plugins.thai_validators"]  # absolute
    assert "eservice.outputs.check" in graph["eservice.spec.check"]  # inside a method


def test_no_two_modules_import_each_other():
    found = mutual_imports()
    assert found == [], "these modules import each other: " + ", ".join(" <-> ".join(p) for p in found)


def line_counts() -> dict[str, int]:
    folder = ROOT / "platform"
    return {path.relative_to(folder).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
            for path in folder.rglob("*.py")}


def test_no_module_in_platform_is_over_700_lines():
    long = {path: n for path, n in line_counts().items() if n > MAX_LINES}
    assert long == {}, f"split these modules (at most {MAX_LINES} lines each): {long}"


def test_the_core_imports_neither_the_web_layer_nor_the_renderers_nor_plugins():
    """Core modules (platform/ outside web/) sit below the web layer, the templates
    and the plugins; the exceptions are listed, with their reason, in CORE_MAY_IMPORT."""
    graph = imports()
    core = [name for name in graph if not name.startswith(OUTSIDE_THE_CORE)]
    found = sorted((name, target) for name in core for target in graph[name]
                   if target.startswith(OUTSIDE_THE_CORE) and (name, target) not in CORE_MAY_IMPORT)
    assert found == [], "core modules importing web/, renderers/ or plugins/: " + ", ".join(
        f"{a} -> {b}" for a, b in found)
    stale = sorted(pair for pair in CORE_MAY_IMPORT if pair[1] not in graph.get(pair[0], ()))
    assert stale == [], f"listed as exceptions but no longer imported (remove them): {stale}"
