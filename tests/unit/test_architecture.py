"""The package's shape, checked on its source (issue 23): one code path for one table and
for related tables, no private names crossing modules, one entry point per stage."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "sdops_dvc"

# where a project's kind of source (one table, or related tables) may be read: the layout
# maps a set of one to the single-table paths, the table-set reader reads the metadata and
# the source pins, and config says which families fit which (Params.family_problem: init,
# validation and tune's candidates ask it)
MAY_ASK_ONE_OR_MANY = {"config.py", "layout.py", "tableset.py"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_no_private_name_is_imported_from_another_module() -> None:
    crossing = [
        f"{p.relative_to(PACKAGE)}: {node.module}.{alias.name}"
        for p, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sdops_dvc")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert crossing == []


def test_only_the_layout_and_the_table_set_reader_ask_whether_a_source_is_one_table() -> None:
    asking = sorted(
        str(p.relative_to(PACKAGE))
        for p, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "multi_table"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "source"
    )
    assert asking, "the check must see the readers that do ask"
    assert {Path(a).name for a in asking} <= MAY_ASK_ONE_OR_MANY, asking


def test_each_stage_has_one_entry_point() -> None:
    for name in ("split", "generate", "evaluate", "gate", "manifest"):
        tree = ast.parse((PACKAGE / "stages" / f"{name}.py").read_text(encoding="utf-8"))
        runs = [
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("run_")
        ]
        assert runs == [f"run_{name}"], (name, runs)


def test_init_is_one_function_for_one_table_and_for_related_tables() -> None:
    tree = ast.parse((PACKAGE / "setup" / "project.py").read_text(encoding="utf-8"))
    inits = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and "init" in n.name]
    assert inits == ["init_project"], inits


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = [
        f"{p.relative_to(PACKAGE)}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
        for p, tree in _modules()
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.end_lineno is not None
        and n.end_lineno - n.lineno + 1 > 60
    ]
    assert long == []


def test_every_module_is_imported_by_a_test() -> None:
    tests_dir = PACKAGE.parent / "tests"
    imported: set[str] = set()
    for path in tests_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sdops_dvc"):
                imported.add(str(node.module))
                imported.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("sdops_dvc"))
            elif (  # python -m sdops_dvc, run as the command runs
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "run_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                imported.add(f"{node.args[0].value}.__main__")
    modules = []
    for p in PACKAGE.rglob("*.py"):
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        body = ast.parse(p.read_text(encoding="utf-8")).body
        if parts[-1] == "__init__" and all(isinstance(n, ast.Expr) for n in body):
            continue  # a wing's package holds its docstring only: nothing to test
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert sorted(m for m in modules if m not in imported) == []
