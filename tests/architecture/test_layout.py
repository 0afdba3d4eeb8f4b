"""The package's shape, read from its source: stages import only stages below them, no grader
import hides in a function, modules stay short, and the top level holds only the spine."""

import ast
from pathlib import Path

import pytest

from grader import checks
from grader.scoring import rubric

PACKAGE = Path(__file__).resolve().parents[2] / "grader"
# Lowest first: a module may import its own stage and any stage before it in this list.
STAGES = ["errors", "paths", "dates", "course", "intake", "run", "evidence", "checks", "scoring", "outputs", "pipeline", "commands", "cli"]
SELF_CONTAINED = ("run/inject", "run/launch")  # run inside the student's process tree: never import the grader
TOP_LEVEL = {"__init__.py", "cli.py", "pipeline.py", "errors.py", "paths.py", "dates.py"}
MAX_LINES = 350


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if not any(p.is_relative_to(PACKAGE / s) for s in SELF_CONTAINED))


def stage_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def grader_imports(tree: ast.AST, relative_allowed: bool = False):
    """(imported module, line, inside a function) for every import of the grader package."""
    functions = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level and not relative_allowed:
                raise AssertionError(f"relative import at line {node.lineno}: write grader.STAGE... in full")
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.split(".")[0] == "grader" and name != "grader":
                yield name, node.lineno, id(node) in functions


def test_every_module_belongs_to_a_stage():
    assert {stage_of(p) for p in modules()} - {"__init__"} <= set(STAGES)
    assert {p.name for p in PACKAGE.glob("*.py")} == TOP_LEVEL


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_only_downwards_and_never_hide_in_functions(path):
    here = STAGES.index(stage_of(path)) if stage_of(path) in STAGES else len(STAGES)
    for name, line, hidden in grader_imports(ast.parse(path.read_text())):
        target = name.split(".")[1]
        assert not hidden, f"{path.name}:{line} imports {name} inside a function (a hidden circle)"
        if target in STAGES:
            assert STAGES.index(target) <= here, f"{path.name}:{line}: {stage_of(path)} imports {name}, a stage above it"


def test_self_contained_folders_never_import_the_grader():
    for folder in SELF_CONTAINED:
        for path in (PACKAGE / folder).rglob("*.py"):
            assert not list(grader_imports(ast.parse(path.read_text()), relative_allowed=True)), path


def test_modules_stay_short():
    long = {str(p.relative_to(PACKAGE)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_the_default_rubric_scores_every_registered_check():
    assert {c.check for c in rubric.load().criteria} == set(checks.known_ids())
