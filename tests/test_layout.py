"""Size limits of the package's code: no module of ``pipeline/`` over 600 lines and no
function over 80 (from its ``def`` line to its last line, decorators left out, docstring in).

A module that long mixes concerns, and a function that long no longer fits on a screen, so
a reviewer stops reading it whole. ``pipeline/reports/`` was split by concern for this
(issue 14) and has no exemption. The modules and functions that were over a limit before
the rule are listed in ``RATCHET`` with their size on that day as their ceiling: issue 14
splits them in the stage-package move, and until then each may shrink but not grow. An
entry no longer over the limit fails the test too, so that the list only gets shorter.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PIPELINE = Path(__file__).resolve().parent.parent / "pipeline"
MODULE_LINES = 600
FUNCTION_LINES = 80

RATCHET = {
    "ingest.py": 689,
    "simulation/accounts.py": 701,
    "validation.py": 679,
    "simulate.py::simulate": 84,
    "simulation/accounts.py::build_accounts": 180,
    "simulation/accounts.py::_added_populations": 91,
    "simulation/render.py::Renderer._slice_frame": 81,
}
"""Ceilings of what was over a limit when the rule came in: a module by its path under
``pipeline/``, a function by ``path::qualified name``."""


def _functions(node: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """Every function and method below ``node``, nested ones included, with its lines."""
    for child in ast.iter_child_nodes(node):
        name = getattr(child, "name", None)
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            assert child.end_lineno is not None
            yield f"{prefix}{name}", child.end_lineno - child.lineno + 1
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield from _functions(child, f"{prefix}{name}.")
        else:
            yield from _functions(child, prefix)


def sizes() -> dict[str, tuple[int, int]]:
    """Every module and function of the package: its lines and the limit that applies."""
    found: dict[str, tuple[int, int]] = {}
    for path in sorted(PIPELINE.rglob("*.py")):
        module = path.relative_to(PIPELINE).as_posix()
        text = path.read_text(encoding="utf-8")
        found[module] = (len(text.splitlines()), MODULE_LINES)
        for name, lines in _functions(ast.parse(text, filename=str(path))):
            found[f"{module}::{name}"] = (lines, FUNCTION_LINES)
    return found


def test_no_module_or_function_is_over_its_limit() -> None:
    over = {name: f"{lines} lines, at most {RATCHET.get(name, limit)}"
            for name, (lines, limit) in sizes().items() if lines > RATCHET.get(name, limit)}
    assert not over, ("split these (modules at most 600 lines, functions at most 80; a "
                      f"ratchet entry may not grow): {over}")


def test_the_ratchet_lists_only_what_is_still_over_its_limit() -> None:
    found = sizes()
    settled = [name for name in RATCHET if name not in found or found[name][0] <= found[name][1]]
    assert not settled, f"within the limit now (or gone): remove from RATCHET: {settled}"


def test_the_reports_package_has_no_exemption() -> None:
    assert not [name for name in RATCHET if name.startswith("reports/")]
    assert any(name.startswith("reports/sections/") for name in sizes())


def test_the_readme_layout_names_every_module():
    """The README's layout is the map a newcomer reads first: a module it does not name is
    a module nobody will find (issue 14), so a new one fails here until it is listed."""
    readme = (PIPELINE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):readme.index("## Dependencies")]
    words = set(layout.replace("/", " ").replace(",", " ").replace(":", " ").split())
    missing = sorted(
        path.stem if path.name != "__init__.py" else path.parent.name
        for path in PIPELINE.rglob("*.py")
        if "rules" not in path.parts and "simulation" not in path.parts
        and (path.stem if path.name != "__init__.py" else path.parent.name) not in words)
    assert missing == [], f"modules the README's layout does not name: {missing}"
