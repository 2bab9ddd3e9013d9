"""Issue 22's "one owner each", checked on the source so a second owner cannot creep back:

- provider differences live in ``helpers/sandbox/dialects.py``: no other sandbox module
  compares a provider name (``provider == "zhipu"``);
- a message's content is flattened to text by ``helpers.chat_format.flatten_content``
  only: no other function in ``helpers/`` joins the ``"text"`` of content parts.

Each check also runs on a planted copy of a module and must find the plant.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "helpers"
PROVIDERS = {"openai", "zhipu"}
FLATTENER = ("helpers/chat_format.py", "flatten_content")


def _modules(root: Path) -> dict[str, ast.Module]:
    return {str(p.relative_to(root.parent)): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(root.rglob("*.py"))}


def provider_comparisons(modules: dict[str, ast.Module]) -> list[str]:
    """``x == "zhipu"`` / ``"openai" != x`` / ``x in ("openai", ...)`` outside dialects.py."""
    found = []
    for path, tree in modules.items():
        if not path.startswith("helpers/sandbox/") or path.endswith("/dialects.py"):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            values = [node.left, *node.comparators]
            consts = {v.value for v in values if isinstance(v, ast.Constant)}
            consts |= {e.value for v in values if isinstance(v, (ast.Tuple, ast.List, ast.Set))
                       for e in v.elts if isinstance(e, ast.Constant)}
            if consts & PROVIDERS:
                found.append(f"{path}:{node.lineno}")
    return found


def _reads_text(comp: ast.GeneratorExp | ast.ListComp) -> bool:
    """The comprehension reads ``p["text"]`` or ``p.get("text", ...)`` of its own item ``p``."""
    items = {n.id for g in comp.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}

    def of_item(node) -> bool:
        return isinstance(node, ast.Name) and node.id in items

    for sub in ast.walk(comp.elt):
        if (isinstance(sub, ast.Subscript) and of_item(sub.value)
                and isinstance(sub.slice, ast.Constant) and sub.slice.value == "text"):
            return True
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "get" and of_item(sub.func.value) and sub.args
                and isinstance(sub.args[0], ast.Constant) and sub.args[0].value == "text"):
            return True
    return False


def content_flatteners(modules: dict[str, ast.Module]) -> list[str]:
    """Functions that join the texts of parts: ``"".join(p["text"] for p in ...)`` or a
    ``parts += [p.get("text") ...]`` accumulation (the two shapes the old copies had)."""
    found = []
    for path, tree in modules.items():
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if (path, func.name) == FLATTENER:
                continue
            for node in ast.walk(func):
                joins = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                         and node.func.attr == "join" and node.args
                         and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))
                         and _reads_text(node.args[0]))
                gathers = (isinstance(node, ast.AugAssign) and isinstance(node.value, ast.ListComp)
                           and _reads_text(node.value))
                if joins or gathers:
                    found.append(f"{path}:{func.name}")
                    break
    return found


def test_no_sandbox_module_but_dialects_compares_provider_names():
    assert provider_comparisons(_modules(HELPERS)) == []


def test_chat_format_flatten_content_is_the_only_content_flattener():
    assert content_flatteners(_modules(HELPERS)) == []
    flattener = _modules(HELPERS)[FLATTENER[0]]
    assert FLATTENER[1] in {f.name for f in ast.walk(flattener)
                            if isinstance(f, ast.FunctionDef)}


@pytest.mark.parametrize("planted, check", [
    ("def _p(provider):\n    return provider == 'zhipu'\n", provider_comparisons),
    ("def _p(provider):\n    return provider in ('openai',)\n", provider_comparisons),
    ("def _p(c):\n    return ''.join(p['text'] for p in c)\n", content_flatteners),
    ("def _p(c):\n    out = []\n    out += [p.get('text', '') for p in c]\n    return out\n",
     content_flatteners),
])
def test_a_planted_second_owner_is_found(planted, check):
    modules = _modules(HELPERS)
    path = "helpers/sandbox/chat.py"
    modules[path] = ast.parse(ast.unparse(modules[path]) + "\n\n" + planted)
    assert [f for f in check(modules) if f.startswith(path)] != []
