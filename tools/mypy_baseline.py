"""mypy over helpers/, against a committed baseline that may only shrink.

``python tools/mypy_baseline.py`` prints where the errors now differ from
``tools/mypy_baseline.txt`` and exits 1 if any file has more errors of a code
than the baseline allows (or the baseline is stale: fewer errors now, so it must
be lowered to keep the ratchet tight). ``--update`` rewrites the baseline.
Counts are per file and error code, so moving code up or down a file does not
break the check; tests/test_gate.py runs it.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tools" / "mypy_baseline.txt"
LINE = re.compile(r"^(?P<path>[^:]+):\d+:(?:\d+:)? error: .*\[(?P<code>[a-z0-9-]+)\]$")


def current() -> Counter:
    out = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary",
                          "--no-pretty", "--show-error-codes"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode not in (0, 1) or "error: " not in out.stdout and out.returncode:
        raise SystemExit(f"mypy did not run: {out.stderr.strip() or out.stdout.strip()}")
    counts: Counter = Counter()
    for line in out.stdout.splitlines():
        m = LINE.match(line.strip())
        if m:
            counts[(m["path"], m["code"])] += 1
    return counts


def read_baseline() -> Counter:
    counts: Counter = Counter()
    if BASELINE.exists():
        for line in BASELINE.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                path, code, n = line.rsplit(" ", 2)
                counts[(path, code)] = int(n)
    return counts


def write_baseline(counts: Counter) -> None:
    lines = ["# mypy errors allowed per file and code (tools/mypy_baseline.py --update)."]
    lines += [f"{p} {c} {n}" for (p, c), n in sorted(counts.items())]
    BASELINE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def compare(now: Counter, base: Counter) -> tuple[list[str], list[str]]:
    """(grown, stale): lines where errors exceed the baseline, and where the baseline is loose."""
    grown = [f"{p}: {c}: {n} errors, baseline allows {base[(p, c)]}"
             for (p, c), n in sorted(now.items()) if n > base[(p, c)]]
    stale = [f"{p}: {c}: {now[(p, c)]} errors, baseline says {n}"
             for (p, c), n in sorted(base.items()) if now[(p, c)] < n]
    return grown, stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the baseline")
    args = parser.parse_args(argv)
    now = current()
    if args.update:
        write_baseline(now)
        print(f"baseline: {sum(now.values())} errors in {len({p for p, _ in now})} files")
        return 0
    grown, stale = compare(now, read_baseline())
    for line in grown:
        print("new mypy errors:", line)
    for line in stale:
        print("baseline can shrink (run tools/mypy_baseline.py --update):", line)
    print(f"mypy: {sum(now.values())} errors, baseline {sum(read_baseline().values())}")
    return 1 if grown or stale else 0


if __name__ == "__main__":
    sys.exit(main())
