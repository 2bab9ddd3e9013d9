"""The notebooks as documents: order, structure, clean outputs (nbval runs them)."""
import ast
import re
from collections import Counter

import nbformat
import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARAMETERS = ["DATASET", "TEXT_FIELD", "LABEL_FIELD", "LABEL_MAP", "BACKEND", "MODE", "BASE_MODEL",
              "N_TRAIN", "N_TEST", "EPOCHS", "SEED", "WORK_DIR"]
# Shapes of real credentials: OpenAI keys, Zhipu "id.secret" keys, bearer tokens, JWTs.
KEY_PATTERNS = [re.compile(p) for p in (
    r"sk-[A-Za-z0-9_-]{16,}", r"\b[0-9a-f]{32}\.[A-Za-z0-9]{16}\b", r"Bearer\s+[A-Za-z0-9._-]{12,}",
    r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")]


def _load(path):
    return nbformat.read(path, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _ids(path):
    return path.name


def test_notebooks_are_numbered_in_order_from_01():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers and numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_has_a_parameters_cell_with_the_course_parameters(path):
    cells = [c for c in _code(_load(path)) if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assigned = [t.id for node in ast.parse(cells[0].source).body if isinstance(node, ast.Assign)
                for t in node.targets]
    assert assigned == PARAMETERS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_imports_helpers_and_starts_a_run(path):
    sources = "\n".join(c.source for c in _code(_load(path)))
    assert re.search(r"^from helpers import .*\bpipeline\b", sources, re.M)
    assert f'pipeline.start("{path.stem}"' in sources


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_outputs_are_clean_and_in_order(path):
    nb = _load(path)
    counts = [c.execution_count for c in _code(nb)]
    assert None not in counts, "every code cell has been executed"
    assert counts == list(range(1, len(counts) + 1))
    for cell in _code(nb):
        for out in cell.outputs:
            assert out.output_type != "error", f"cell {cell.execution_count} has an error output"
            text = out.get("text", "") + "".join(
                v for k, v in out.get("data", {}).items() if k.startswith("text/")
                and isinstance(v, str))
            for pattern in KEY_PATTERNS:
                assert not pattern.search(text), f"key-like string in cell {cell.execution_count}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_narrative_is_chinese_and_opens_with_goals(path):
    md = [c.source for c in _load(path).cells if c.cell_type == "markdown"]
    assert md[0].startswith("# ") and "学完这一课" in md[0] and "需要什么" in md[0]


def test_no_function_or_class_is_defined_in_more_than_one_notebook():
    defined = Counter()
    for path in NOTEBOOKS:
        names = set()
        for cell in _code(_load(path)):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics
                continue
            names |= {n.name for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        defined.update(names)
    assert [name for name, n in defined.items() if n > 1] == []


def test_each_notebook_that_calls_an_api_has_its_cassette():
    for path in NOTEBOOKS:
        sources = "\n".join(c.source for c in _code(_load(path)))
        if "run.client(" in sources:
            cassette = REPO / "notebooks" / "cassettes" / f"{path.stem}.sandbox.json"
            assert cassette.is_file(), path.name


def _shows_a_plot(source: str) -> bool:
    """The cell's value is a figure from the course's plotting helpers."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    last = body[-1] if body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)):
        return False
    func = last.value.func
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and (func.value.id == "plots" or func.attr.endswith("_histogram")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_plots_are_stored_as_images(path):
    for cell in _code(_load(path)):
        if _shows_a_plot(cell.source):
            kinds = [set(out.get("data", {})) for out in cell.outputs]
            assert any("image/png" in k for k in kinds), \
                f"cell {cell.execution_count} draws a plot but stores no PNG"
