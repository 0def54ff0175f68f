"""The layers of docs/architecture.md hold, from the code's own imports (tests/architecture.py reads them)."""

import pytest

from tests.architecture import (
    DATA,
    INTERFACES,
    PURE,
    SERVICES,
    cycles,
    import_graph,
    in_function_imports,
    layer_of,
    violations,
)


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_no_module_imports_upwards_or_across_the_sandbox_wall(graph):
    assert violations(graph) == []


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_no_imports_inside_functions_except_app_start_up(graph):
    assert in_function_imports(graph) == []


def test_every_module_has_a_layer(graph):
    assert [name for name in graph.modules if not name.startswith("sandbox") and layer_of(name) is None] == []


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("recovery.taxonomy", PURE),
        ("recovery.classifier.partner", PURE),
        ("config.redaction", PURE),
        ("connections.models", DATA),
        ("recovery.models", DATA),
        ("recovery.publishing", SERVICES),
        ("connections.queries", SERVICES),
        ("recovery.jobs", INTERFACES),
        ("connections.admin", INTERFACES),
        ("config.cron", INTERFACES),
    ],
)
def test_modules_sit_in_the_layer_the_architecture_names(module, layer):
    assert layer_of(module) == layer


def test_the_checker_sees_an_upward_import_a_cycle_and_an_import_in_a_function(tmp_path):
    """The rules above cannot pass vacuously: a small tree that breaks each one is caught."""
    recovery = tmp_path / "recovery"
    (recovery / "classifier").mkdir(parents=True)
    (recovery / "__init__.py").write_text("")
    (recovery / "classifier" / "__init__.py").write_text("from recovery import publishing\n")
    (recovery / "publishing.py").write_text("from recovery import autopause\n")
    (recovery / "autopause.py").write_text("def resume():\n    from recovery import publishing\n")

    broken = import_graph(tmp_path)

    assert any("recovery.classifier (pure rules) -> recovery.publishing (services)" in v for v in violations(broken))
    assert cycles(broken) == [["recovery.autopause", "recovery.publishing"]]
    assert in_function_imports(broken) == [("recovery.autopause", "recovery.publishing", "resume")]
