"""What every lesson must contain, read from the stored .ipynb JSON (issue 13).

* The official SDK call in a visible code cell the first time an endpoint
  appears (``RAW_CALLS``): a real call in the code (found with ``ast``), not a
  mention in prose or a comment.
* The ending (NOTEBOOKS.md): ``## 小结``, then ``## 动手练习`` with 2-4
  exercises — a markdown cell starting ``**练习 N`` or ``### 练习 N`` that
  gives a hint (提示), followed at once by its solution, a code cell tagged
  ``solution`` with ``{"jupyter": {"source_hidden": true}}`` —, then
  ``## 参考资料`` whose links are http(s) and dated ``（查阅于 YYYY-MM-DD）``.
* A ``parameters``-tagged cell.
* Stored outputs read well anywhere: no progress bar stopped at 0%, no
  absolute path of the machine that ran it, no error.
"""
import ast
import json
import re

import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RAW_CALLS = {
    "01": ["chat.completions.create", "chat.completions.parse"],
    "04": ["files.create", "fine_tuning.jobs.create", "fine_tuning.jobs.retrieve",
           "fine_tuning.jobs.list_events", "fine_tuning.jobs.checkpoints.list"],
    "05": ["files.content"],
    "07": ["batches.create"],
}
EXERCISE = re.compile(r"^(?:\*\*练习\s*\d+|#{3,4}\s*练习\s*\d+)")
LINK = re.compile(r"\[[^\]]+\]\((https?://[^)\s]+)\)")
DATED = re.compile(r"查阅于\s*\d{4}-\d{2}-\d{2}")
# A bar drawn before any work was done: "  0%|" (but not the end of "100%|").
BAR_AT_ZERO = re.compile(r"(?<![0-9])0%\|")
# Absolute paths of a machine: POSIX roots where runs live, a home directory, a Windows drive.
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/~-])/(?:tmp|home|root|work|Users|var|private|usr|opt|mnt|srv|data)/[\w.-]"
    r"|\b[A-Za-z]:\\\\?[\w.-]+\\|~/[\w.-]+/")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _ids(path):
    return path.name


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def called_names(code: str) -> set[str]:
    """Dotted names of every function called in ``code`` (IPython magics skipped)."""
    lines = [ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    return {_dotted(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}


def _sections(nb) -> dict[str, list[int]]:
    """Index of each cell under each ``## `` heading (the heading's own cell included)."""
    sections, current = {}, None
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            for line in _source(cell).splitlines():
                m = re.match(r"^##\s+(.+?)\s*$", line)
                if m:
                    current = m.group(1)
                    sections.setdefault(current, [])
        if current is not None:
            sections[current].append(i)
    return sections


def _section_text(nb, name) -> str:
    """Markdown under ``## name`` up to the next ``## `` heading."""
    out, inside = [], False
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in _source(cell).splitlines():
            if re.match(r"^##\s+", line):
                inside = line.strip() == f"## {name}"
                continue
            if inside:
                out.append(line)
    return "\n".join(out)


def _output_texts(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            yield "error", f"{out.get('ename')}: {out.get('evalue')}"
            continue
        text = out.get("text", "")
        yield out.get("output_type"), "".join(text) if isinstance(text, list) else text
        for mime, value in (out.get("data") or {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                value = "".join(value) if isinstance(value, list) else value
                yield out.get("output_type"), value if isinstance(value, str) else json.dumps(value)


# ------------------------------------------------------------------ tests of the checks

def test_called_names_sees_calls_not_mentions():
    code = ('# client.batches.create(...) in a comment\n'
            'text = "client.files.content(x)"\n'
            'done = client.chat.completions.create(model=m, messages=msgs)\n'
            'parsed = run.client().chat.completions.parse(model=m)\n%time x = 1')
    names = called_names(code)
    assert "client.chat.completions.create" in names
    assert "run.client().chat.completions.parse" in names
    assert not any(n.endswith("batches.create") or n.endswith("files.content") for n in names)


def test_the_output_patterns_catch_what_they_mean():
    assert BAR_AT_ZERO.search("classify:   0%|          | 0/200")
    assert not BAR_AT_ZERO.search("classify: 100%|██████████| 200/200")
    for path in ("/tmp/course-replay-work-1/x.jsonl", "/home/me/course/work", "/work/main/x",
                 "saved to /root/.cache/x", r"C:\Users\me\course"):
        assert ABSOLUTE_PATH.search(path), path
    for fine in ("http://sandbox.local/v1", "https://api.openai.com/v1/files", "/v1/chat/completions",
                 "batches/test.requests.jsonl", "50/200 done", "1/2"):
        assert not ABSOLUTE_PATH.search(fine), fine


# ------------------------------------------------------------------ the notebooks

@pytest.mark.parametrize("number", sorted(RAW_CALLS))
def test_the_raw_sdk_calls_are_in_code_cells(number):
    paths = [p for p in NOTEBOOKS if p.name.startswith(number + "_")]
    assert len(paths) == 1, f"notebook {number} not found"
    nb = _load(paths[0])
    names = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            names |= called_names(_source(cell))
    missing = [call for call in RAW_CALLS[number]
               if not any(n == call or n.endswith("." + call) for n in names)]
    assert not missing, f"{paths[0].name} never calls {missing} in a code cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_ends_with_summary_exercises_and_references_in_that_order(path):
    sections = list(_sections(_load(path)))
    for name in ("小结", "动手练习", "参考资料"):
        assert name in sections, f"{path.name} has no '## {name}' heading"
    assert sections[-3:] == ["小结", "动手练习", "参考资料"], sections[-3:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_two_to_four_exercises_each_with_a_hint_and_a_collapsed_solution(path):
    nb = _load(path)
    cells = nb["cells"]
    under = _sections(nb).get("动手练习", [])
    exercises = []  # (cell index, the exercise's first line, its text)
    for i in under:
        if cells[i]["cell_type"] != "markdown":
            continue
        lines = _source(cells[i]).splitlines()
        starts = [n for n, line in enumerate(lines) if EXERCISE.match(line.lstrip())]
        assert len(starts) <= 1, \
            f"{path.name}: exercises {[lines[n][:20] for n in starts]} share one cell, so not " \
            "every one is followed by its solution"
        if starts:
            exercises.append((i, lines[starts[0]].strip(), "\n".join(lines[starts[0]:])))
    assert 2 <= len(exercises) <= 4, f"{path.name}: {len(exercises)} exercises under 动手练习"
    for i, head, text in exercises:
        head = head[:40]
        assert "提示" in text, f"{path.name}: {head!r} gives no hint (提示)"
        assert i + 1 < len(cells), f"{path.name}: {head!r} has no solution cell after it"
        solution = cells[i + 1]
        meta = solution.get("metadata", {})
        assert solution["cell_type"] == "code" and "solution" in meta.get("tags", []), \
            f"{path.name}: the cell after {head!r} is not a code cell tagged 'solution'"
        assert meta.get("jupyter", {}).get("source_hidden") is True, \
            f"{path.name}: the solution of {head!r} is not collapsed (jupyter.source_hidden)"
        assert _source(solution).strip(), f"{path.name}: the solution of {head!r} is empty"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_references_are_dated_http_links(path):
    text = _section_text(_load(path), "参考资料")
    bullets = [line for line in text.splitlines() if LINK.search(line)]
    assert bullets, f"{path.name}: no http(s) link under 参考资料"
    undated = [line for line in bullets if not DATED.search(line)]
    assert not undated, f"{path.name}: links without （查阅于 YYYY-MM-DD）: {undated[:2]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_has_a_parameters_cell(path):
    tagged = [c for c in _load(path)["cells"]
              if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_stored_outputs_have_no_zero_bars_absolute_paths_or_errors(path):
    problems = []
    for n, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        for kind, text in _output_texts(cell):
            if kind == "error":
                problems.append(f"cell {n}: error output {text[:80]!r}")
            elif "Traceback (most recent call last)" in text:
                problems.append(f"cell {n}: a traceback in the output")
            if BAR_AT_ZERO.search(text):
                problems.append(f"cell {n}: a progress bar at 0%: "
                                f"{text[max(0, BAR_AT_ZERO.search(text).start() - 30):][:60]!r}")
            found = ABSOLUTE_PATH.search(text)
            if found:
                problems.append(f"cell {n}: an absolute path: "
                                f"{text[max(0, found.start() - 20):found.end() + 40]!r}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems[:10])
