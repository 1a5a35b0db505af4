"""Each name is imported from the module that defines it: no module passes on another's names (issue 19)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PACKAGES = ("jobs", "infra")


def module_file(module: str) -> Path | None:
    """The source file of a ``jobs`` module or package, or None when there is none."""
    parts = module.split(".")
    # jobs.sql is the top-level sql/ folder (setuptools package-dir).
    base = ROOT.joinpath("sql", *parts[2:]) if parts[:2] == ["jobs", "sql"] else ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try):
            yield from _top_level(node.body + node.orelse + getattr(node, "finalbody", []))


@cache  # one parse per module, not one per import of it
def defined_names(path: Path) -> frozenset[str]:
    """Names a module defines itself; a package's ``__init__`` also offers what its ``__all__`` lists."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if path.name == "__init__.py" and "__all__" in names and isinstance(node.value, ast.List | ast.Tuple):
                names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return frozenset(names)


def borrowed_imports(path: Path, root: Path = ROOT) -> Iterator[str]:
    """``module.name`` for each ``from jobs/infra... import name`` whose module does not define ``name``."""
    where = path.relative_to(root)
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                and node.module.split(".")[0] in PACKAGES):
            continue
        source = module_file(node.module)
        if source is None:
            yield f"{where}:{node.lineno}: no module {node.module}"
            continue
        names = defined_names(source)
        for alias in node.names:
            if alias.name not in names and module_file(f"{node.module}.{alias.name}") is None:
                yield f"{where}:{node.lineno}: {node.module}.{alias.name}"


def test_names_are_imported_from_the_module_that_defines_them() -> None:
    files = [p for folder in (*PACKAGES, "bench", "tests") for p in sorted((ROOT / folder).rglob("*.py"))]
    borrowed = [hit for path in files for hit in borrowed_imports(path)]
    assert not borrowed, f"import these from the module that defines them: {borrowed}"


def test_a_passed_on_name_is_reported(tmp_path: Path) -> None:
    user = tmp_path / "user.py"
    user.write_text("from jobs.contract.config import Model\n"
                    "from jobs.contract.domain import Model as M\n"
                    "from jobs.contract import metrics\n")
    assert list(borrowed_imports(user, tmp_path)) == ["user.py:1: jobs.contract.config.Model"]
