"""The maintainers' gate, inside the README's test command: ruff clean, mypy no worse."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import mypy_baseline  # noqa: E402


@pytest.mark.slow
def test_ruff_check_is_clean():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


@pytest.mark.slow
def test_ruff_finds_a_planted_problem(tmp_path):
    bad = tmp_path / "planted.py"
    bad.write_text("import os\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                          "--config", str(ROOT / "pyproject.toml"), str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "F401" in out.stdout


def test_baseline_comparison_catches_growth_and_staleness():
    base = Counter({("helpers/a.py", "arg-type"): 2})
    grown, stale = mypy_baseline.compare(Counter({("helpers/a.py", "arg-type"): 3,
                                                  ("helpers/b.py", "misc"): 1}), base)
    assert grown == ["helpers/a.py: arg-type: 3 errors, baseline allows 2",
                     "helpers/b.py: misc: 1 errors, baseline allows 0"] and stale == []
    grown, stale = mypy_baseline.compare(Counter({("helpers/a.py", "arg-type"): 1}), base)
    assert grown == [] and stale == ["helpers/a.py: arg-type: 1 errors, baseline says 2"]


@pytest.mark.slow
def test_mypy_errors_within_the_committed_baseline():
    grown, stale = mypy_baseline.compare(mypy_baseline.current(), mypy_baseline.read_baseline())
    assert not grown, "new mypy errors:\n" + "\n".join(grown)
    assert not stale, ("fewer mypy errors than the baseline: lower it with "
                       "`python tools/mypy_baseline.py --update`\n" + "\n".join(stale))
