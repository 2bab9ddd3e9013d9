"""What every lesson must contain, read from the stored .ipynb JSON (issues 13 and 20).

* The official SDK call in a visible code cell the first time an endpoint
  appears (``RAW_CALLS``): a real call in the code (found with ``ast``), not a
  mention in prose or a comment. In 01 that includes the client constructors.
* The ending (NOTEBOOKS.md): ``## 小结``, then ``## 动手练习`` with 2-4
  exercises — a markdown cell starting ``**练习 N`` or ``### 练习 N`` that
  gives a hint (提示) —, then ``## 参考资料`` whose links are http(s) and dated
  ``（查阅于 YYYY-MM-DD）``.
* No solutions in a lesson: ``source_hidden`` folds a cell only in JupyterLab, so
  GitHub, nbviewer and HTML would show it. A solution is a code cell tagged
  ``solution`` or any code cell under ``## 动手练习``. Solutions live in
  ``notebooks/solutions/NN_<lesson>_solutions.ipynb``, linked from the lesson's
  exercises, one ``## 练习 N`` per exercise, runnable on their own (a
  ``parameters`` cell, ``pipeline.start`` with their own name, so their own
  cassette) and collected by nbval like the lessons.
* A ``parameters``-tagged cell.
* Stored outputs read well anywhere: no progress bar stopped at 0%, no
  absolute path of the machine that ran it, no error.
"""
import ast
import json
import os
import re
import subprocess
import sys
import tomllib

import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS_DIR = REPO / "notebooks" / "solutions"
SOLUTIONS = sorted(SOLUTIONS_DIR.glob("[0-9][0-9]_*_solutions.ipynb"))
RAW_CALLS = {
    "01": ["OpenAI", "ZhipuAI", "responses.create", "responses.parse", "chat.completions.create",
           "chat.completions.parse"],
    "04": ["files.create", "fine_tuning.jobs.create", "fine_tuning.jobs.retrieve",
           "fine_tuning.jobs.list_events", "fine_tuning.jobs.checkpoints.list"],
    "05": ["files.content"],
    "06": ["chat.completions.create", "embeddings.create"],
    "07": ["batches.create"],
}
EXERCISE = re.compile(r"^(?:\*\*练习\s*(\d+)|#{3,4}\s*练习\s*(\d+))")
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
    for fine in ("http://sandbox.local/v1", "https://api.openai.com/v1/files",
                 "/v1/chat/completions", "batches/test.requests.jsonl", "50/200 done", "1/2"):
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


def _calls_with_keyword(code: str, name: str, keyword: str) -> list[str]:
    """Dotted names of calls ending in ``name`` that pass ``keyword=`` in ``code``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [_dotted(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)
            and (_dotted(node.func) == name or _dotted(node.func).endswith("." + name))
            and any(kw.arg == keyword for kw in node.keywords)]


def test_calls_with_keyword_sees_the_keyword_not_a_mention():
    code = ('# classify.classify(client, t, l, m, reasoning_effort="high")\n'
            'x = classify.classify(client, t, l, m, api="chat")\n'
            'y = {e: classify.classify(client, t, l, m, reasoning_effort=e) for e in efforts}')
    found = _calls_with_keyword(code, "classify.classify", "reasoning_effort")
    assert found == ["classify.classify"]
    assert _calls_with_keyword(code, "classify.classify", "api") == ["classify.classify"]
    assert not _calls_with_keyword("classify.classify(c, t, l, m)", "classify.classify", "api")


def test_01_measures_reasoning_effort_and_both_apis_with_the_helper():
    """Issue 20: 01 measures reasoning_effort on the test set, and both APIs side by side."""
    nb = _load(REPO / "notebooks" / "01_zero_shot.ipynb")
    code = "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "code")
    assert _calls_with_keyword(code, "classify.classify", "reasoning_effort"), \
        "01 never calls classify.classify(..., reasoning_effort=...) in a code cell"
    assert _calls_with_keyword(code, "classify.classify", "api"), \
        "01 never calls classify.classify(..., api=...) in a code cell"
    assert _calls_with_keyword(code, "classify.classify", "max_completion_tokens"), \
        "01 never shows the budget trap through classify(..., max_completion_tokens=...)"
    assert "zero_shot_report.record_reasoning" in code, "01 does not record zero_shot_reasoning"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_ends_with_summary_exercises_and_references_in_that_order(path):
    sections = list(_sections(_load(path)))
    for name in ("小结", "动手练习", "参考资料"):
        assert name in sections, f"{path.name} has no '## {name}' heading"
    assert sections[-3:] == ["小结", "动手练习", "参考资料"], sections[-3:]


def exercises(nb) -> list[tuple[int, int, str]]:
    """(cell index, exercise number, its text) of each exercise under ``## 动手练习``."""
    found = []
    for i in _sections(nb).get("动手练习", []):
        cell = nb["cells"][i]
        if cell["cell_type"] != "markdown":
            continue
        lines = _source(cell).splitlines()
        starts = [n for n, line in enumerate(lines) if EXERCISE.match(line.lstrip())]
        assert len(starts) <= 1, \
            f"exercises {[lines[n][:20] for n in starts]} share one cell: give each its own cell"
        if starts:
            m = EXERCISE.match(lines[starts[0]].lstrip())
            found.append((i, int(m.group(1) or m.group(2)), "\n".join(lines[starts[0]:])))
    return found


def solution_cells(nb) -> list[int]:
    """Solution code cells: tagged ``solution``, or any code cell under ``## 动手练习``."""
    under = set(_sections(nb).get("动手练习", []))
    return [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code" and (
        "solution" in cell.get("metadata", {}).get("tags", []) or i in under)]


def solutions_path(lesson):
    return SOLUTIONS_DIR / f"{lesson.stem}_solutions.ipynb"


def test_solution_cells_are_recognised():
    def cell(kind, text, tags=()):
        return {"cell_type": kind, "source": text, "metadata": {"tags": list(tags)}}

    hidden = cell("code", "print(1)", ["solution"])
    hidden["metadata"]["jupyter"] = {"source_hidden": True}
    nb = {"cells": [cell("code", "x = 1"), cell("code", "y = 2", ["solution"]),
                    cell("markdown", "## 动手练习"), cell("markdown", "**练习 1.** 提示：..."),
                    hidden, cell("markdown", "**练习 2.** 提示：..."), cell("code", "untagged = 1"),
                    cell("markdown", "## 参考资料"), cell("code", "after = 1")]}
    assert solution_cells(nb) == [1, 4, 6]
    assert [(i, n) for i, n, _ in exercises(nb)] == [(3, 1), (5, 2)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_two_to_four_exercises_each_with_a_hint(path):
    found = exercises(_load(path))
    assert 2 <= len(found) <= 4, f"{path.name}: {len(found)} exercises under 动手练习"
    for _, number, text in found:
        assert "提示" in text, f"{path.name}: exercise {number} gives no hint (提示)"
    assert [n for _, n, _ in found] == list(range(1, len(found) + 1)), \
        f"{path.name}: exercises are not numbered 1..{len(found)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_lessons_hold_no_solution_cells(path):
    """GitHub, nbviewer and HTML show a folded cell unfolded: the answers live in solutions/."""
    found = solution_cells(_load(path))
    assert not found, f"{path.name}: solution code cells {found}; move them to " \
                      f"notebooks/solutions/{solutions_path(path).name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_each_lesson_links_its_solutions_notebook(path):
    target = solutions_path(path)
    assert target.exists(), f"{path.name}: no {target.relative_to(REPO)}"
    text = _section_text(_load(path), "动手练习")
    assert f"](solutions/{target.name})" in text, \
        f"{path.name}: 动手练习 does not link solutions/{target.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_solutions_notebook_answers_each_exercise_and_runs_on_its_own(path):
    lesson = _load(path)
    solved = _load(solutions_path(path))
    numbers = [n for _, n, _ in exercises(lesson)]
    headings = [int(m.group(1)) for cell in solved["cells"] if cell["cell_type"] == "markdown"
                for m in re.finditer(r"^##\s+练习\s*(\d+)", _source(cell), re.M)]
    name = solutions_path(path).name
    assert headings == numbers, f"{name}: answers {headings}, the lesson has {numbers}"
    for n, cell in enumerate(solved["cells"]):
        if cell["cell_type"] == "markdown" and re.match(r"^##\s+练习", _source(cell)):
            following = solved["cells"][n + 1] if n + 1 < len(solved["cells"]) else {}
            assert following.get("cell_type") == "code" and _source(following).strip(), \
                f"{name}: {_source(cell).splitlines()[0]!r} has no code after it"
    code = "\n".join(_source(c) for c in solved["cells"] if c["cell_type"] == "code")
    # its own name -> its own cassette (notebooks/cassettes/<name>.<backend>.json)
    assert re.search(rf"pipeline\.start\(\s*\"{solutions_path(path).stem}\"", code), \
        f"{name}: pipeline.start is not called with its own name"


def test_every_solutions_notebook_belongs_to_a_lesson():
    lessons = {p.stem for p in NOTEBOOKS}
    orphans = [p.name for p in SOLUTIONS if p.stem.removesuffix("_solutions") not in lessons]
    assert SOLUTIONS and not orphans, orphans


@pytest.mark.slow
def test_nbval_collects_the_solutions_notebooks():
    """The default test paths reach notebooks/solutions/ and nbval makes items of its cells."""
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "notebooks" in options["testpaths"]
    env = dict(os.environ, COURSE_NBVAL_WARM="0")  # collection only: start no kernel
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "notebooks"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    missing = [p.name for p in SOLUTIONS if str(p.relative_to(REPO)) not in collected]
    assert not missing, f"nbval does not collect {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_references_are_dated_http_links(path):
    text = _section_text(_load(path), "参考资料")
    bullets = [line for line in text.splitlines() if LINK.search(line)]
    assert bullets, f"{path.name}: no http(s) link under 参考资料"
    undated = [line for line in bullets if not DATED.search(line)]
    assert not undated, f"{path.name}: links without （查阅于 YYYY-MM-DD）: {undated[:2]}"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=_ids)
def test_has_a_parameters_cell(path):
    tagged = [c for c in _load(path)["cells"]
              if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=_ids)
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


# ------------------------------------------------------------------ 06 and 07 in particular

def _lesson(number):
    paths = [p for p in NOTEBOOKS if p.name.startswith(number + "_")]
    assert len(paths) == 1, f"notebook {number} not found"
    return _load(paths[0])


def _code_cells(nb, needle):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and needle in _source(c)]


def test_06_decision_table_has_the_baselines_and_intervals():
    """The stored decision table names both baselines beside the LLM rows, with intervals."""
    cells = _code_cells(_lesson("06"), "compare.decision_table(splits.test[\"label\"], approaches)")
    assert len(cells) == 1
    html = "".join(text for kind, text in _output_texts(cells[0]))
    for needed in ("TF-IDF + LR", "embeddings + LR", "zero-shot (reasoning)", "fine-tuned",
                   "accuracy 95% CI", "vs best baseline (McNemar)"):
        assert needed in html, f"06's decision table output lacks {needed!r}"


def test_06_measures_agreement_against_logprobs_on_the_same_rows():
    cells = _code_cells(_lesson("06"), "agreement.confidence_table(")
    assert len(cells) == 1
    text = "".join(t for _, t in _output_texts(cells[0]))
    for row in ("fine-tuned: logprobs", "fine-tuned: agreement", "reasoning: agreement"):
        assert row in text, f"06's confidence table lacks the row {row!r}"


def test_06_prose_stays_readable_in_one_sitting():
    nb = _lesson("06")
    chars = sum(len(_source(c)) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert chars <= 20_000, f"06 has {chars:,} characters of prose; trim it (issue 20)"


def test_07_raw_creates_reuse_an_earlier_object_and_send_no_retries():
    """A raw files.create / batches.create goes out on the no-retry client, and its cell
    first looks for the object an earlier run made."""
    nb = _lesson("07")
    creating = [c for c in nb["cells"] if c["cell_type"] == "code" and any(
        n.endswith(("files.create", "batches.create")) for n in called_names(_source(c)))]
    assert len(creating) >= 4  # the upload, the batch, the failing batch, the Responses batch
    for cell in creating:
        names = called_names(_source(cell))
        creates = [n for n in names if n.endswith(("files.create", "batches.create"))]
        assert all(n.startswith("no_retry.") for n in creates), creates
        looked = {n.rsplit(".", 1)[-1] for n in names} & {"earlier_upload", "earlier_batch"}
        assert looked, f"a cell creates {creates} without looking for an earlier one first"


def test_07_submits_a_responses_batch():
    nb = _lesson("07")
    assert any('endpoint="/v1/responses"' in _source(c) and "batches.create" in _source(c)
               for c in nb["cells"] if c["cell_type"] == "code")


def test_07_retry_sentence_matches_the_counts_printed_beside_it():
    cells = _code_cells(_lesson("07"), "the retries absorbed")
    assert len(cells) == 1
    text = "".join(t for _, t in _output_texts(cells[0]))
    said = re.search(r"the retries absorbed (\d+) injected errors", text)
    counted = re.search(r"'retries': (\d+)", text)
    assert said and counted, text[:300]
    assert said.group(1) == counted.group(1) and int(said.group(1)) > 0
