"""Committed cassettes are reproducible recordings of the sandbox.

Re-recording a notebook against a fresh sandbox must give the same cassette,
after zeroing timestamps and renaming the sandbox's ids. Ids are random per
sandbox instance (as on a hosted service), so each id is replaced by a
placeholder that depends only on where it appears: the same id gets the same
placeholder everywhere, and two recordings that differ only in their ids
normalise to the same interactions. Numbers are compared exactly: the sandbox
rounds the metrics it reports, so a recording does not depend on the CPU.

The notebook re-recorded is the one with the smallest committed cassette that
exercises a fine-tuning job, to keep the suite fast.
"""
import hashlib
import json
import random
import re

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO
from helpers import recording

CASSETTES = REPO / "notebooks" / "cassettes"

# Every id the sandbox hands out; a model id's placeholder keeps its suffix.
SANDBOX_ID = re.compile(
    r"(?:file-|ftjob-|ftevent-|ftckpt-|batch_req_|batch_|call_)[0-9a-f]{24}"
    r"|req_[0-9a-f]{32}|chatcmpl-[0-9a-f]{29}"
    r"|(?:ft:sandbox-base:sandbox-org|sandbox-base:100001):[^:\s\"',<>\\]*:[0-9a-f]{8}")
ROUNDS = 8


def _kind(sandbox_id: str) -> str:
    if ":" in sandbox_id:
        return sandbox_id.rsplit(":", 1)[0] + ":"
    return re.match(r"[a-z_]+?[-_](?=[0-9a-f])|batch_req_", sandbox_id).group()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def id_placeholders(texts: list[str]) -> dict[str, str]:
    """A placeholder per sandbox id in ``texts``, from where and how the id is used.

    Colour refinement: an id starts labelled by its kind; each round relabels
    it by the texts it occurs in (rendered with the current labels) and its
    occurrence numbers there, until no label splits further. Equal structure
    gives equal labels, whatever the random ids were.
    """
    where: dict[str, list[tuple[int, int]]] = {}
    for n, text in enumerate(texts):
        for k, m in enumerate(SANDBOX_ID.finditer(text)):
            where.setdefault(m.group(), []).append((n, k))
    label = {i: _kind(i) for i in where}
    for _ in range(ROUNDS):
        rendered = [_digest(SANDBOX_ID.sub(lambda m, label=label: f"<{label[m.group()]}>", t))
                    for t in texts]
        new = {i: _digest(label[i] + repr(sorted((rendered[n], k) for n, k in occ)))
               for i, occ in where.items()}
        if len(set(new.values())) == len(set(label.values())):
            break
        label = new
    # Number the labels of each kind by first use, reading the texts in an order that
    # does not depend on the ids, so a difference elsewhere does not renumber them.
    shown = [SANDBOX_ID.sub(lambda m: f"<{label[m.group()]}>", t) for t in texts]
    ranks: dict[str, dict[str, int]] = {}  # kind -> label -> 1, 2, ...
    for n in sorted(range(len(texts)), key=shown.__getitem__):
        for m in SANDBOX_ID.finditer(texts[n]):
            of_kind = ranks.setdefault(_kind(m.group()), {})
            of_kind.setdefault(label[m.group()], len(of_kind) + 1)
    return {i: f"{_kind(i)}<{ranks[_kind(i)][label[i]]}>" for i in where}


def comparable(cassette: dict) -> list[dict]:
    """A cassette's interactions with timestamps zeroed and sandbox ids replaced, in order."""
    texts = [json.dumps(i, sort_keys=True, ensure_ascii=False)
             for i in recording.normalise(cassette)["interactions"]]
    names = id_placeholders(texts)
    out = [json.loads(SANDBOX_ID.sub(lambda m: names[m.group()], t)) for t in texts]
    # stable, as the recorder's own sort: repeated polls keep their recorded order
    return sorted(out, key=lambda i: (i["request"]["uri"], i["request"]["method"],
                                      json.dumps(i["request"].get("body"), sort_keys=True)))


def _with_other_ids(cassette: dict, seed: int) -> dict:
    """The same recording as another sandbox instance would have made it."""
    rng = random.Random(seed)
    fresh: dict[str, str] = {}

    def swap(m):
        old = m.group()
        if old not in fresh:
            head, tail = (old.rsplit(":", 1) if ":" in old else (_kind(old), old[len(_kind(old)):]))
            new_tail = "".join(rng.choice("0123456789abcdef") for _ in tail)
            fresh[old] = f"{head}:{new_tail}" if ":" in old else head + new_tail
        return fresh[old]

    text = json.dumps(cassette, ensure_ascii=False)
    data = json.loads(SANDBOX_ID.sub(swap, text))
    data["interactions"].sort(key=recording.sort_key)  # the recorder sorts by raw URI
    return data


def _job_cassette():
    with_jobs = [p for p in sorted(CASSETTES.glob("*.sandbox.json"), key=lambda p: p.stat().st_size)
                 if "fine_tuning/jobs" in p.read_text(encoding="utf-8")]
    return with_jobs[0] if with_jobs else None


def test_normalising_ids_ignores_which_ids_but_not_how_they_are_used():
    committed = _job_cassette()
    if committed is None:
        pytest.skip("no committed cassette yet")
    data = recording.load(committed)
    assert comparable(_with_other_ids(data, 1)) == comparable(data)
    assert comparable(_with_other_ids(data, 1)) == comparable(_with_other_ids(data, 2))
    # one poll that names another job's id is a different recording
    ids = sorted({m.group() for m in SANDBOX_ID.finditer(json.dumps(data))
                  if m.group().startswith("file-")})
    assert len(ids) >= 2
    broken = json.loads(json.dumps(data))
    for item in broken["interactions"]:
        text = json.dumps(item["response"], ensure_ascii=False)
        if ids[0] in text:
            item["response"] = json.loads(text.replace(ids[0], ids[1]))
            break
    assert comparable(broken) != comparable(data)


@pytest.mark.slow
def test_re_recording_a_notebook_gives_the_same_cassette(tmp_path, monkeypatch):
    committed = _job_cassette()
    if committed is None:
        pytest.skip("no committed cassette yet")
    name = committed.name.split(".")[0] + ".ipynb"  # a lesson's cassette, or a solutions notebook's
    notebook = next(p for p in (REPO / "notebooks" / name, REPO / "notebooks" / "solutions" / name)
                    if p.exists())
    nb = nbformat.read(notebook, as_version=4)
    for var, value in {"COURSE_MODE": "record", "COURSE_BACKEND": "sandbox",
                       "COURSE_CASSETTE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(var, value)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    old = comparable(recording.load(committed))
    new = comparable(recording.load(tmp_path / committed.name))
    assert len(new) == len(old)
    for i, (a, b) in enumerate(zip(new, old, strict=True)):
        assert a == b, f"interaction {i} differs: {a['request']['method']} {a['request']['uri']}"
