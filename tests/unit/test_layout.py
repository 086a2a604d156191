"""Size limits of the packages' code: no module of ``pipeline/`` or ``simulator/`` over 600
lines and no function over 80 (from its ``def`` line to its last line, decorators left out,
docstring in).

A module that long mixes concerns, and a function that long no longer fits on a screen, so
a reviewer stops reading it whole. There is no exemption: what was over a limit when the
rule came in (the reports, ``simulator/accounts.py``, ``pipeline/validation/validation.py``
and a few functions) was split by concern for issue 14.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from pipeline import PROJECT_DIR

ROOT = PROJECT_DIR


PACKAGES = (ROOT / "pipeline", ROOT / "simulator")


MODULE_LINES = 600


FUNCTION_LINES = 80


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
    for path in sorted(p for package in PACKAGES for p in package.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        found[module] = (len(text.splitlines()), MODULE_LINES)
        for name, lines in _functions(ast.parse(text, filename=str(path))):
            found[f"{module}::{name}"] = (lines, FUNCTION_LINES)
    return found


def test_no_module_or_function_is_over_its_limit() -> None:
    found = sizes()
    assert any(name.startswith("pipeline/publish/reports/sections/") for name in found), \
        "the scan must reach the packages' nested folders"
    over = {name: f"{lines} lines, at most {limit}"
            for name, (lines, limit) in found.items() if lines > limit}
    assert not over, f"split these (modules at most 600 lines, functions at most 80): {over}"


def _layout_tree() -> set[str]:
    """The paths the README's layout tree names: a line is a name indented two spaces a
    level under the folder above it, then what it is."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Layout"):readme.index("## Dependencies")]
    block = section.split("```")[1]
    named: set[str] = set()
    folders: list[str] = []
    for line in block.strip("\n").splitlines():
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        folders = folders[:depth]
        path = "".join(folders) + name
        named.add(path.rstrip("/"))
        if name.endswith("/"):
            folders.append(name)
    return named


def test_the_readme_layout_is_the_tree_of_the_packages():
    """The README's layout is the map a newcomer reads first: a module it does not name is
    a module nobody will find, and a name without a file misleads (issue 14). Every module
    and folder of the packages is named, and every name is a file or folder; a rule is
    one module of ``detection/rules/``, named by the folder."""
    named = _layout_tree()
    actual = {path.relative_to(ROOT).as_posix()
              for package in PACKAGES for path in package.rglob("*")
              if "__pycache__" not in path.parts and path.name != "__init__.py"
              and "rules" not in path.parts[:-1] and "data" not in path.parts[:-1]}
    assert sorted(actual - named) == [], "on disk, not in the README's layout"
    assert sorted(p for p in named if not (ROOT / p).exists()) == [], \
        "in the README's layout, not on disk"


def test_every_import_inside_a_function_says_why():
    """An import inside a function hides a dependency from the reader and from
    import-linter's layers' intent, so it is allowed only where it is deliberate (Airflow's
    parse time, the CLI's start-up, Great Expectations' slow import), and then the line
    says so in a comment. ``if TYPE_CHECKING:`` blocks are not inside a function."""
    silent = []
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for function in ast.walk(ast.parse("\n".join(lines), filename=str(path))):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom) and not any(
                            "#" in line for line in lines[node.lineno - 1:node.end_lineno]):
                        silent.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert silent == [], f"imports inside functions without a comment saying why: {silent}"

