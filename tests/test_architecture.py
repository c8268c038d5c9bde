"""The arrows between leakcert's packages, and the size of its modules.

Imports are read from the source with `ast`, at any depth (a function's own
imports too), so nothing is imported and a module that needs root or scapy is
checked like any other:

    netns, enforcer       -> only themselves
    conformance.results   -> nothing of ours: reports are rebuilt anywhere from it
    conformance           -> itself and netns (subjects reach the enforcer as a program)
    reports               -> itself and conformance.results
    leakcert              -> everything (the command; nothing imports it)
    vms                   -> itself, conformance and netns (the guest lane)

and no import cycle between modules. An import under `if TYPE_CHECKING:` is
not an edge: it never runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("netns", "enforcer", "conformance", "reports", "leakcert", "vms")
# Everything importable the checkout holds: the packages, and what sits beside them.
OURS = (*PACKAGES, "tests", "benchmarks")

# Most specific first: a module obeys the first rule whose owner it is in.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("conformance.results", ("conformance.results",)),
    ("conformance", ("conformance", "netns")),
    ("netns", ("netns",)),
    ("enforcer", ("enforcer",)),
    ("reports", ("reports", "conformance.results")),
    ("leakcert", ("leakcert", "conformance", "reports", "netns")),
    ("vms", ("vms", "conformance", "netns")),
)

MAX_LINES = 400
EXEMPTION = "Longer than 400 lines because"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    target: str  # the module imported, as precisely as the source names it

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.module} imports {self.target}"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def _modules() -> list[Module]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append(Module(name, path))
    return found


MODULES = _modules()
NAMES = {m.name for m in MODULES}


def _is_ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(nodes: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in `nodes`, nested ones too, but not under TYPE_CHECKING."""
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(reversed(node.orelse))
        else:
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _targets(node: ast.Import | ast.ImportFrom, module: Module) -> list[str]:
    """The modules an import statement names: `from p import m` names p.m when m is one."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.name.split(".")
        if not module.is_package:
            package = package[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    named = [f"{base}.{alias.name}" for alias in node.names]
    return [name if name in NAMES else base for name in named]


def imports_of(module: Module, source: str) -> list[Import]:
    """The imports of leakcert's own modules in `source`, the text of `module`."""
    tree = ast.parse(source, str(module.path))
    found = []
    for node in _import_nodes(tree.body):
        for target in dict.fromkeys(_targets(node, module)):
            if _is_ours(target):
                found.append(Import(module.name, module.path, node.lineno, target))
    return found


IMPORTS = [i for m in MODULES for i in imports_of(m, m.path.read_text(encoding="utf-8"))]


def _rule(module: str) -> tuple[str, tuple[str, ...]]:
    return next(rule for rule in RULES if _within(module, rule[0]))


@pytest.mark.parametrize("owner", [owner for owner, _allowed in RULES])
def test_the_arrows_between_packages(owner: str) -> None:
    broken = []
    for imp in IMPORTS:
        rule_owner, allowed = _rule(imp.module)
        if rule_owner == owner and not any(_within(imp.target, a) for a in allowed):
            broken.append(f"{imp}: {owner} may import only {', '.join(allowed)} of ours")
    assert not broken, "imports that break the arrows:\n" + "\n".join(broken)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {name: set() for name in NAMES}
    for imp in IMPORTS:
        if imp.target in NAMES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    lines = []
    for cycle in cycles:
        lines.append(f"cycle between {', '.join(cycle)}:")
        lines += [f"  {i}" for i in IMPORTS if i.module in cycle and i.target in cycle]
    assert not cycles, "\n".join(lines)


def test_the_reader_sees_every_import_that_runs() -> None:
    # The rules above are only as good as this: nested imports count,
    # TYPE_CHECKING ones do not, and `from p import m` is the module p.m.
    source = (
        "from typing import TYPE_CHECKING\n"
        "import jinja2\n"
        "from . import index\n"
        "if TYPE_CHECKING:\n"
        "    from netns.lab import Lab\n"
        "else:\n"
        "    import enforcer.cli\n"
        "def f():\n"
        "    from conformance import results, NotAModule\n"
    )
    found = imports_of(Module("reports.render", ROOT / "reports" / "render.py"), source)
    assert [(i.line, i.target) for i in found] == [
        (3, "reports.index"),
        (7, "enforcer.cli"),
        (9, "conformance.results"),
        (9, "conformance"),
    ]


def _too_long(package: str) -> list[str]:
    offenders = []
    for m in MODULES:
        if not _within(m.name, package):
            continue
        source = m.path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        doc = ast.get_docstring(ast.parse(source)) or ""
        first_paragraph = " ".join(doc.split("\n\n")[0].split())
        if lines > MAX_LINES and EXEMPTION not in first_paragraph:
            offenders.append(f"{m.path.relative_to(ROOT)}: {lines} lines")
    return offenders


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_are_short(package: str) -> None:
    offenders = _too_long(package)
    assert not offenders, (
        f"modules over {MAX_LINES} lines, without '{EXEMPTION} ...' opening their docstring:\n"
        + "\n".join(offenders)
    )
