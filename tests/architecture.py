"""The project's import graph, read from the code's own imports (ast), and the layer rules it must keep.

docs/architecture.md explains the layers; tests/test_architecture.py asserts them, and
`python -m tests.architecture` prints the graph's figures (modules, edges, cycles,
imports inside functions, layer violations) for a quick look.

What counts as an import: every `import x` / `from x import y` of a project module,
at module level or inside a function, except under `if TYPE_CHECKING:` (annotations
only, never executed). `from package import name` counts as importing the submodule
`package.name` when there is one, else the package.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "connections", "recovery", "webhooks", "insights", "sandbox")

# Layers, bottom to top. A module may import its own layer and the layers below it, never above.
PURE, DATA, CONNECTORS, SERVICES, INTERFACES = range(5)
LAYER_NAMES = {PURE: "pure rules", DATA: "data", CONNECTORS: "connectors", SERVICES: "services", INTERFACES: "interfaces"}

# First match wins; patterns are full-match regexes over dotted module names.
LAYER_RULES: list[tuple[str, int]] = [
    # Settings, environment parsing, secret masking and Sentry's set-up: below everything, no app code.
    (r"config\.(settings|settings_test|env|redaction|sentry|metrics|logs|redis_claims)", PURE),
    (r"recovery\.(taxonomy|redaction)", PURE),
    (r"recovery\.classifier(\..*)?", PURE),
    (r"connections\.(models|fields)", DATA),
    (r"(recovery|webhooks|insights)\.models", DATA),
    (r"connections\.(platforms(\..*)?|capabilities)", CONNECTORS),
    (r"[a-z_]+\.(views|admin|urls|jobs|forms|apps|receivers|middleware|worker|context_processors)", INTERFACES),
    (r"[a-z_]+\.(templatetags|management)(\..*)?", INTERFACES),
    (r"config(\..*)?", INTERFACES),
    (r"(connections|recovery|webhooks|insights)(\..*)?", SERVICES),
]

# Modules that are their own world: the sandbox partners. Product code never imports them
# (it reaches them by URL); they import no product code. Only the dev commands and tests bridge the two.
SANDBOX = re.compile(r"sandbox(\..*)?")
DEV_COMMANDS = re.compile(r"sandbox\.(bridge|chaos(\..*)?|management\.commands\.(seed_demo|runlocal|chaos))")
# What the sandbox shares with the product, both pure and free of product code: the one list of what a
# secret looks like, and the partners' published API version calendar (facts about the partners, which
# the sandbox serves and the connectors call).
SHARED_WITH_SANDBOX = {"config.redaction", "connections.platforms.versions"}
# Settings import nothing of the apps (Sentry's hooks included): only these app-free modules.
SETTINGS = re.compile(r"config\.(settings|settings_test|env|redaction|sentry|logs|redis_claims)")
SETTINGS_MAY_IMPORT = {"config.env", "config.settings", "config.redaction", "config.sentry", "config.logs", "config.redis_claims"}


@dataclass
class Graph:
    modules: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    # (importer, imported, function name) for imports inside a function body
    in_function: list[tuple[str, str, str]] = field(default_factory=list)


def _module_files(root: Path) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root)
            if "migrations" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def import_graph(root: Path = REPO) -> Graph:
    graph = Graph(_module_files(root))

    def resolve(name: str) -> str | None:
        while name and name not in graph.modules:
            name = name.rpartition(".")[0]
        return name or None

    for name, path in graph.modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()

        def add(target: str, function: str | None, _name=name, _targets=targets) -> None:
            if target.split(".")[0] not in PACKAGES:
                return
            resolved = resolve(target)
            if resolved and resolved != _name:
                _targets.add(resolved)
                if function:
                    graph.in_function.append((_name, resolved, function))

        def visit(node: ast.AST, function: str | None, _package=package) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for other in child.orelse:
                        visit(other, function)
                    continue
                inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
                if isinstance(child, ast.Import):
                    for alias in child.names:
                        add(alias.name, function)
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        anchor = _package
                        for _ in range(child.level - 1):
                            anchor = anchor.rpartition(".")[0]
                        base = f"{anchor}.{base}" if base else anchor
                    for alias in child.names:
                        submodule = f"{base}.{alias.name}"
                        add(submodule if submodule in graph.modules else base, function)
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), None)
        graph.edges[name] = targets
    return graph


def layer_of(module: str) -> int | None:
    for pattern, layer in LAYER_RULES:
        if re.fullmatch(pattern, module):
            return layer
    return None


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.edges.get(node, ()):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph.edges):
        if node not in index:
            connect(node)
    return found


def violations(graph: Graph) -> list[str]:
    """Every import that breaks a layer rule, in words."""
    problems = []
    for importer, imported_set in sorted(graph.edges.items()):
        for imported in sorted(imported_set):
            importer_is_sandbox, imported_is_sandbox = bool(SANDBOX.fullmatch(importer)), bool(SANDBOX.fullmatch(imported))
            if DEV_COMMANDS.fullmatch(importer) or (importer_is_sandbox and imported in SHARED_WITH_SANDBOX):
                continue
            if importer_is_sandbox != imported_is_sandbox:
                problems.append(f"{importer} -> {imported}: the sandbox and the product meet only in dev commands and tests")
                continue
            if importer_is_sandbox:
                continue
            if SETTINGS.fullmatch(importer) and imported not in SETTINGS_MAY_IMPORT:
                problems.append(f"{importer} -> {imported}: settings (and what they load) import no app code")
                continue
            low, high = layer_of(importer), layer_of(imported)
            if low is None or high is None:
                problems.append(f"{importer} -> {imported}: a module with no layer (add it to LAYER_RULES)")
            elif high > low:
                problems.append(
                    f"{importer} ({LAYER_NAMES[low]}) -> {imported} ({LAYER_NAMES[high]}): imports must run downwards"
                )
    return problems


def in_function_imports(graph: Graph) -> list[tuple[str, str, str]]:
    """Imports of project modules inside functions, except in an AppConfig's ready() (Django's registration point)."""
    found = {entry for entry in graph.in_function if not (entry[0].endswith(".apps") and entry[2] == "ready")}
    return sorted(found)


def main() -> None:
    graph = import_graph()
    found_cycles = cycles(graph)
    inside = in_function_imports(graph)
    problems = violations(graph)
    print(f"modules {len(graph.modules)}, imports {sum(map(len, graph.edges.values()))}")
    print(f"cycles {len(found_cycles)}")
    for component in found_cycles:
        print("  ", " <-> ".join(component))
    print(f"imports inside functions {len(inside)}")
    for importer, imported, function in inside:
        print(f"   {importer}.{function} -> {imported}")
    print(f"layer violations {len(problems)}")
    for problem in problems:
        print("  ", problem)


if __name__ == "__main__":
    main()
