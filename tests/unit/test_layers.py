"""The packages of ``layers/domain/billing`` form layers: each imports only the layers below it, and no two a cycle.

Read from the source with ``ast``, not from ``sys.modules``: every ``import`` and
``from`` counts, also one under ``if TYPE_CHECKING:`` or inside a function,
since each is a dependency a reader has to know about (a function-level import
only puts it off to the first call). A node is a subpackage (``usage``,
``invoicing``) or a module directly in ``billing`` (``months``); the package's
own ``__init__`` (it registers the SnapStart hook) is the node ``__init__``, at
the edge with ``snapstart``. The order is stated in docs/architecture.md
("Layers").
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.conftest import ROOT

BILLING = ROOT / "layers" / "domain" / "billing"

# Lowest first. A package imports only packages of the layers below its own: none above it, none beside it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("months",),
    ("bank_calendar", "errors", "vocabulary", "emails", "spreadsheet", "japanese", "zengin"),
    ("tariff", "paging"),
    ("usage",),
    ("contracts",),
    ("invoicing",),
    ("payments",),
    ("delivery",),
    ("dal",),  # the adapters to AWS: the domain's types in, DynamoDB, S3, SQS, SES and EventBridge out
    # the edge: checked for cycles only
    (
        "schema",
        "http",
        "plain_http",
        "powertools_overrides",
        "settings",
        "observability",
        "snapstart",
        "debit_wiring",
        "bank_wiring",
        "reminder_wiring",
        "usage_watch_wiring",
        "__init__",
    ),
)
DAL = "dal"
EDGE = frozenset(LAYERS[-1])
DOMAIN = frozenset(name for layer in LAYERS[: LAYERS.index((DAL,))] for name in layer)
ALLOWED_UPWARD = {(DAL, "settings")}  # the adapters read the table, bucket and queue names
# The domain is plain Python: no API models (pydantic, and with it the count function's cold start), no AWS SDK,
# no Powertools (it logs with the standard library; billing.observability prints its lines).
FORBIDDEN_IN_DOMAIN = frozenset({"pydantic", "pydantic_core", "boto3", "botocore", "aws_lambda_powertools"})

Graph = Mapping[str, Mapping[str, Iterable[str]]]  # node -> node it imports -> where (file:line)


def node_of(module: str) -> str | None:
    """The node of a module under ``billing`` (``billing.usage.counts`` is ``usage``), or None outside it."""
    parts = module.split(".")
    if parts[0] != "billing":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    relative = path.relative_to(BILLING.parent).with_suffix("")
    return ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)


def is_billing_module(name: str) -> bool:
    """Whether ``billing.x.y`` names a module or a package (not a name defined in one)."""
    path = BILLING.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(source: str, package: str) -> list[tuple[str, int]]:
    """Every module ``source`` imports, with its line: at the top, under ``if TYPE_CHECKING:``, in a function.

    ``package`` is the package the source is in, for relative imports. ``from billing import months`` imports
    ``billing.months``; ``from billing.usage.counts import Reading`` imports ``billing.usage.counts``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((submodule if is_billing_module(submodule) else base, node.lineno))
    return found


def build_graph() -> tuple[dict[str, dict[str, set[str]]], dict[str, dict[str, set[str]]]]:
    """The node graph of ``billing``, and the other top-level packages each node imports; both with where."""
    graph: dict[str, dict[str, set[str]]] = {}
    external: dict[str, dict[str, set[str]]] = {}
    for path in sorted(BILLING.rglob("*.py")):
        name = module_name(path)
        source = node_of(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        where = path.relative_to(BILLING).as_posix()
        graph.setdefault(source, {})
        for imported, line in imports_of(path.read_text(encoding="utf-8"), package):
            target = node_of(imported)
            if target is None:
                external.setdefault(source, {}).setdefault(imported.split(".")[0], set()).add(f"{where}:{line}")
            elif target != source:
                graph[source].setdefault(target, set()).add(f"{where}:{line}")
    return graph, external


def find_cycle(graph: Graph) -> list[str] | None:
    """A cycle as the path around it (``[a, b, a]``), or None. Depth first, in a stable order."""
    state: dict[str, str] = {}  # visiting | done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "visiting"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "visiting":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _where(graph: Graph, source: str, target: str) -> str:
    return ", ".join(sorted(graph[source][target]))


def describe(cycle: list[str], graph: Graph) -> str:
    steps = [f"{a} -> {b} ({_where(graph, a, b)})" for a, b in itertools.pairwise(cycle)]
    return "package cycle " + " -> ".join(cycle) + ":\n  " + "\n  ".join(steps)


def layer_of(node: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if node in layer)


def upward_imports(graph: Graph) -> list[str]:
    """Every import, by a package up to ``dal``, of a package not in a lower layer (``a -> b (file:line)``)."""
    return [
        f"{source} -> {target} ({_where(graph, source, target)})"
        for source in sorted(graph)
        if source not in EDGE
        for target in sorted(graph[source])
        if layer_of(target) >= layer_of(source) and (source, target) not in ALLOWED_UPWARD
    ]


def domain_imports_of_edge_or_dal(graph: Graph) -> list[str]:
    return [
        f"{source} -> {target} ({_where(graph, source, target)})"
        for source in sorted(graph)
        if source in DOMAIN
        for target in sorted(graph[source])
        if target in EDGE or target == DAL
    ]


def forbidden_packages(external: Graph) -> list[str]:
    return [
        f"{source} -> {package} ({_where(external, source, package)})"
        for source in sorted(external)
        if source in DOMAIN
        for package in sorted(external[source])
        if package in FORBIDDEN_IN_DOMAIN
    ]


GRAPH, EXTERNAL = build_graph()


def test_every_package_is_in_a_layer():
    assert sorted(set(GRAPH) - {name for layer in LAYERS for name in layer}) == [], "add it to LAYERS"


def test_no_cycle_between_packages():
    cycle = find_cycle(GRAPH)
    assert cycle is None, describe(cycle, GRAPH)


def test_each_package_imports_only_the_layers_below_it():
    assert upward_imports(GRAPH) == []


def test_the_domain_imports_neither_the_edge_nor_dal():
    assert domain_imports_of_edge_or_dal(GRAPH) == []


def test_the_domain_imports_no_pydantic_no_aws_sdk_and_no_powertools():
    assert forbidden_packages(EXTERNAL) == []


# ------------------------------------------------------------ the checks fail on what the packages once did

# Imports the packages had before they were layered (node -> node, and what it was).
OLD_IMPORTS = {
    "contracts -> invoicing": ("contracts", "invoicing", "accounts.py, terms.py: invoicing.tariff.Tariff"),
    "usage -> invoicing": ("usage", "invoicing", "counts.py (TYPE_CHECKING): invoicing.tariff.Tariff"),
    "usage -> contracts": ("usage", "contracts", "counts.py (TYPE_CHECKING): contracts.churn.ChurnEpisode"),
    "contracts -> usage": ("contracts", "usage", "churn.py: usage.counts.Reading"),  # downward now: allowed
    "contracts -> schema": ("contracts", "schema", "accounts.py, change_requests.py (TYPE_CHECKING): AccountIn"),
    "invoicing -> schema": ("invoicing", "schema", "closing.py: schema.messages.InvoiceIssuedDetail"),
    "delivery -> schema": ("delivery", "schema", "deliverer.py: schema.messages.InvoiceIssuedDetail"),
    "delivery -> observability": ("delivery", "observability", "redelivery.py: observability.logger"),
    "delivery -> dal": ("delivery", "dal", "never so, but the rule holds for it too"),
}
ALLOWED_NOW = {"contracts -> usage"}
# The cycles they made with what the packages import today (or, for contracts and usage, with each other).
OLD_CYCLES = {
    ("contracts", "invoicing"): ["contracts -> invoicing"],
    ("contracts", "usage"): ["usage -> contracts", "contracts -> usage"],
    ("invoicing", "usage"): ["usage -> invoicing"],
    ("invoicing", "schema"): ["invoicing -> schema"],
    ("contracts", "schema"): ["contracts -> schema"],
}


def with_old(*names: str) -> dict[str, dict[str, set[str]]]:
    """Today's graph with the old imports ``names`` put back."""
    graph = {source: {target: set(where) for target, where in targets.items()} for source, targets in GRAPH.items()}
    for name in names:
        source, target, what = OLD_IMPORTS[name]
        graph[source].setdefault(target, set()).add(f"old: {what}")
    return graph


@pytest.mark.parametrize("pair", list(OLD_CYCLES), ids=" <-> ".join)
def test_each_old_cycle_is_found_and_its_path_named(pair):
    graph = with_old(*OLD_CYCLES[pair])
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(pair) <= set(cycle)
    message = describe(cycle, graph)
    assert " -> ".join(cycle) in message and "old: " in message


@pytest.mark.parametrize("name", [name for name in OLD_IMPORTS if name not in ALLOWED_NOW])
def test_each_old_import_breaks_the_layers(name):
    source, target, _ = OLD_IMPORTS[name]
    graph = with_old(name)
    assert any(wrong.startswith(f"{source} -> {target} ") for wrong in upward_imports(graph))
    if target in EDGE or target == DAL:
        assert domain_imports_of_edge_or_dal(graph) != []


def test_a_forbidden_package_in_the_domain_is_named():
    assert forbidden_packages({"contracts": {"pydantic": {"accounts.py:3"}}, "schema": {"pydantic": {"x.py:1"}}}) == [
        "contracts -> pydantic (accounts.py:3)"
    ]


def test_the_reader_counts_type_checking_function_level_and_relative_imports():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import counts\n"
        "if TYPE_CHECKING:\n"
        "    from billing.schema.platform import AccountIn\n"
        "def late():\n"
        "    from billing import tariff\n"
        "    import billing.dal.usage\n"
        "    from pydantic import BaseModel\n"
    )
    found = {name for name, _ in imports_of(source, "billing.usage")}
    assert {"billing.usage.counts", "billing.schema.platform", "billing.tariff", "billing.dal.usage"} <= found
    assert "pydantic" in found
