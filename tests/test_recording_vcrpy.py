"""vcrpy is pinned: its private parts the recorder uses must exist in the installed version.

If this fails after an upgrade, re-check ``helpers/recording/vcr_adapter.py``
against the new vcrpy, then move ``VCRPY_VERSION`` and requirements.txt together.
"""
import importlib
import importlib.metadata
import re

from conftest import REPO
from helpers.recording import vcr_adapter


def _pinned() -> str:
    text = (REPO / "requirements.txt").read_text(encoding="utf-8")
    return re.search(r"^vcrpy==(\S+)\s*$", text, re.M).group(1)


def test_installed_vcrpy_is_the_pinned_one_the_adapter_was_checked_against():
    assert _pinned() == vcr_adapter.VCRPY_VERSION
    assert importlib.metadata.version("vcrpy") == vcr_adapter.VCRPY_VERSION


def test_every_private_vcrpy_attribute_the_adapter_uses_exists():
    assert vcr_adapter.PRIVATE_ATTRIBUTES  # the list is what this test checks
    for module, name in vcr_adapter.PRIVATE_ATTRIBUTES:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_only_the_adapter_imports_vcr():
    pattern = re.compile(r"^\s*(import vcr|from vcr\b)", re.M)
    importers = [p.relative_to(REPO).as_posix() for p in (REPO / "helpers").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert importers == ["helpers/recording/vcr_adapter.py"]
