"""A leading underscore means private to its module: nothing else uses it.

Checked on every run over engine/, webapp/, tests/ and benchmarks/: no
``from engine... import _name`` (or webapp), and no ``module._name`` on an
engine or webapp module (tests patch public seams only).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("engine", "webapp", "tests", "benchmarks")
OURS = ("engine", "webapp")


def _private(name: str) -> bool:
    """``_name`` but not ``__dunder__``."""
    return name.startswith("_") and not name.startswith("__")


def offences(path: Path) -> list[str]:
    """Uses of another module's private names in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    modules: set[str] = set()  # local names bound to our modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] not in OURS:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(
                        f"{node.lineno}: from {node.module} import {alias.name}"
                    )
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    """Every offence is listed with its file and line."""
    problems = [
        f"{path.relative_to(ROOT)}:{offence}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for offence in offences(path)
    ]
    assert problems == []


def test_the_check_sees_both_kinds(tmp_path: Path) -> None:
    """A private import and a private attribute of our module are both found."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from engine.services import steps\n"
        "from engine.workflow.script_compiler import _compile_cached\n"
        "steps._notify_staff()\n"
        "steps.record_step()\n"
    )
    assert offences(sample) == [
        "2: from engine.workflow.script_compiler import _compile_cached",
        "3: steps._notify_staff",
    ]
