"""The sandbox reads its COURSE_SANDBOX_* variables in one module, never at import time, and
imports nothing of the course but the three modules it shares with it."""
import ast
from pathlib import Path

import pytest

from conftest import REPO
from helpers.sandbox import settings

SANDBOX = REPO / "helpers" / "sandbox"
SHARED = {"helpers.chat_format", "helpers.sqlite_wal", "helpers.tokenizers"}


def _reads_environment(node: ast.AST) -> bool:
    """os.environ / os.getenv / a bare environ or getenv imported from os."""
    if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
        return isinstance(node.value, ast.Name) and node.value.id == "os"
    if isinstance(node, ast.ImportFrom) and node.module == "os":
        return any(a.name in ("environ", "getenv") for a in node.names)
    return False


def _module_level_nodes(tree: ast.Module):
    """Every node that runs when the module is imported (function bodies excluded)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(node.decorator_list if not isinstance(node, ast.Lambda) else [])
            todo.extend(d for d in node.args.defaults + node.args.kw_defaults if d)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _sources():
    return sorted(SANDBOX.glob("*.py"))


def test_only_the_settings_module_reads_the_environment():
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        lines = sorted({n.lineno for n in ast.walk(tree) if _reads_environment(n)})
        if path.name != "settings.py" and lines:
            offenders.append(f"{path.name}:{lines[0]}")
    assert offenders == []


def test_nothing_reads_the_environment_at_import_time():
    offenders = []
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        offenders += [f"{path.name}:{n.lineno}" for n in _module_level_nodes(tree)
                      if _reads_environment(n) and not isinstance(n, ast.ImportFrom)]
    assert offenders == []


def test_the_checks_catch_a_module_that_reads_the_environment():
    bad = ast.parse("import os\nLIMIT = int(os.environ.get('COURSE_SANDBOX_X', '1'))\n"
                    "def f():\n    return os.getenv('Y')\n")
    assert sum(_reads_environment(n) for n in ast.walk(bad)) == 2
    assert sum(_reads_environment(n) for n in _module_level_nodes(bad)) == 1


def test_the_sandbox_imports_only_the_modules_it_shares_with_the_course():
    used = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 2:  # from .. import x / ..x
                names = ([f"helpers.{node.module}"] if node.module
                         else [f"helpers.{a.name}" for a in node.names])
                used |= {f"{path.name}: {n}" for n in names}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                used |= {f"{path.name}: {n}" for n in names
                         if n.startswith("helpers.") and not n.startswith("helpers.sandbox")}
    assert sorted(u for u in used if u.split(": ")[1] not in SHARED) == []


def test_settings_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "0.5")
    monkeypatch.setenv("COURSE_SANDBOX_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "instant")
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "here"))
    assert settings.stage_seconds() == 0.5 and settings.max_body_bytes() == 1000
    assert settings.progression() == "instant" and settings.progression("time") == "time"
    assert settings.data_dir() == tmp_path / "here"
    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "soon")
    with pytest.raises(ValueError, match="COURSE_SANDBOX_STAGE_SECONDS='soon'"):
        settings.stage_seconds()
    monkeypatch.delenv("COURSE_SANDBOX_DIR")
    monkeypatch.setenv("COURSE_ENV_FILE", str(tmp_path / "env"))
    Path(tmp_path / "env").write_text(f"COURSE_SANDBOX_DIR={tmp_path / 'from-env'}\n")
    assert settings.data_dir() == tmp_path / "from-env"


def test_rows_stored_before_records_were_typed_still_read():
    """A sandbox directory from before this change (private keys with '_') keeps working."""
    from helpers.sandbox.records import Batch, Job

    job = Job.from_row({"id": "ftjob-1", "created_at": 1, "model": "sandbox-base",
                        "training_file": "file-1", "hyperparameters": {}, "method": {},
                        "seed": 3, "status": "running", "_provider": "zhipu", "_seq": 4,
                        "_model": "sandbox-base:100001::ab", "_trained_tokens": 120,
                        "_results": "file-2", "_stage_at": 5.0, "_gone": "ignored"})
    assert (job.provider, job.seq, job.tuned_model, job.pending_tokens, job.results_file) == (
        "zhipu", 4, "sandbox-base:100001::ab", 120, "file-2")
    assert job.trained_tokens is None and "provider" not in job.public()
    batch = Batch.from_row({"id": "batch_1", "created_at": 1, "endpoint": "/v1/chat/completions",
                            "input_file_id": "file-1", "_output": "file-3", "_errors": None})
    assert (batch.pending_output, batch.pending_errors) == ("file-3", None)
    assert Job.from_row(job.to_row()) == job
