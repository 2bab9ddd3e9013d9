"""docs/ARCHITECTURE.md's contracts, checked on the source (imports inside functions count).

- The sandbox is a separate service: ``helpers.sandbox`` imports nothing of the
  course but the shared format modules ARCHITECTURE.md names.
- Lesson display helpers (``helpers.lessons``) do not import the runner, the
  sandbox or the recorder.
- No cycle between the units of ``helpers`` (subpackages and top-level modules).
Each contract is also run on a copy of the tree with a forbidden import
planted, and must find it.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from import_graph import cycles, imports, top, unit_graph

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_MAY_IMPORT = {"helpers.sandbox", "helpers.chat_format", "helpers.sqlite_wal",
                      "helpers.tokenizers"}
LESSONS_MUST_NOT_IMPORT = {"helpers.course", "helpers.sandbox", "helpers.recording"}


@functools.cache
def _imports(root: Path) -> tuple:
    """The import graph of one tree, read once (every planted tree is a new directory)."""
    return tuple(imports(root))


def sandbox_violations(root: Path) -> list[str]:
    return [f"{i.path.relative_to(root)}:{i.line}: imports {i.imported}"
            for i in _imports(root) if top(i.importer) == "helpers.sandbox"
            and top(i.imported) not in SANDBOX_MAY_IMPORT and i.imported != "helpers"]


def lessons_violations(root: Path) -> list[str]:
    return [f"{i.path.relative_to(root)}:{i.line}: imports {i.imported}"
            for i in _imports(root) if top(i.importer) == "helpers.lessons"
            and top(i.imported) in LESSONS_MUST_NOT_IMPORT]


def package_cycles(root: Path) -> list[list[str]]:
    return cycles(unit_graph(list(_imports(root))))


def test_the_sandbox_imports_only_the_shared_format_modules():
    assert sandbox_violations(ROOT) == []


def test_lessons_do_not_import_the_runner_sandbox_or_recorder():
    assert lessons_violations(ROOT) == []


def test_no_cycle_between_helpers_units():
    assert package_cycles(ROOT) == []


@pytest.fixture
def tree(tmp_path):
    shutil.copytree(ROOT / "helpers", tmp_path / "helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.md", "*.json", "*.txt"))
    return tmp_path


def _plant(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _planted():\n    {line}\n",
                    encoding="utf-8")


def test_a_planted_course_import_in_the_sandbox_is_found(tree):
    _plant(tree / "helpers/sandbox/chat.py", "from ..prompts import build_messages")
    planted = (f"helpers/sandbox/chat.py:{_last_line(tree / 'helpers/sandbox/chat.py')}: "
               "imports helpers.prompts")
    assert planted in sandbox_violations(tree) and planted not in sandbox_violations(ROOT)


def test_a_planted_upward_import_in_a_lesson_is_found(tree):
    _plant(tree / "helpers/lessons/prep_report.py", "import helpers.course.runner")
    planted = (f"helpers/lessons/prep_report.py:"
               f"{_last_line(tree / 'helpers/lessons/prep_report.py')}: imports "
               "helpers.course.runner")
    assert planted in lessons_violations(tree)


def test_a_planted_cycle_is_found(tree):
    _plant(tree / "helpers/answers.py", "from helpers import metrics")
    _plant(tree / "helpers/metrics.py", "from . import answers")
    assert ["helpers.answers", "helpers.metrics"] in package_cycles(tree)


def _last_line(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())
