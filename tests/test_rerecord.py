"""Committed cassettes are reproducible recordings of the sandbox.

Re-recording a notebook against a fresh sandbox must give the same cassette,
after zeroing timestamps (the sandbox's ids are counters, so they match as is).
The notebook re-recorded is the one with the smallest committed cassette that
exercises a fine-tuning job, to keep the suite fast.
"""
import os

import pytest
from nbclient import NotebookClient
import nbformat

from conftest import REPO
from helpers import recording

CASSETTES = REPO / "notebooks" / "cassettes"


def _pick():
    candidates = sorted(CASSETTES.glob("*.sandbox.yaml"), key=lambda p: p.stat().st_size)
    with_jobs = [p for p in candidates if "fine_tuning/jobs" in p.read_text(encoding="utf-8")]
    return (with_jobs or candidates or [None])[0]


def test_re_recording_a_notebook_gives_the_same_cassette(tmp_path, monkeypatch):
    committed = _pick()
    if committed is None:
        pytest.skip("no committed cassette yet")
    notebook = REPO / "notebooks" / (committed.name.split(".")[0] + ".ipynb")
    nb = nbformat.read(notebook, as_version=4)
    for var, value in {"COURSE_MODE": "record", "COURSE_BACKEND": "sandbox",
                       "COURSE_CASSETTE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(var, value)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    fresh = tmp_path / committed.name
    old, new = recording.normalise(recording.load(committed)), recording.normalise(recording.load(fresh))
    assert len(new["interactions"]) == len(old["interactions"])
    for i, (a, b) in enumerate(zip(new["interactions"], old["interactions"])):
        assert a == b, f"interaction {i} differs: {a['request']['method']} {a['request']['uri']}"
