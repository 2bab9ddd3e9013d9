"""Read and plan a dataset once per run: the pre-check and every notebook share the result.

Validating and planning a large file takes a while, and the course runner's
pre-check and each notebook's ``pipeline.load_data`` ask for the same rows and
the same plan. ``load_prepared`` keeps the result in the run's work directory
(``WORK/data/prepared-KEY.pkl``), keyed by what it depends on: the dataset's
path, its size, modification time and SHA-256, the fields, ``min_class_rows``
and the preparation rules (``CACHE_VERSION``, the near-duplicate settings).

The file is written atomically (``helpers.atomic``) and starts with a JSON line
holding the key and the payload's SHA-256; on reuse the dataset's size and
mtime are compared, its SHA-256 recomputed, and the payload's hash checked, so
a changed dataset, a half-written or tampered cache, or another version of
the rules is never used: the rows are read and planned again. Pickle because
the payload is the course's own DataFrame and plan, written and read in one
run directory; anything that fails to load is recomputed, never trusted.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import atomic
from . import dedup
from .load import NAMES, load_named, load_records, spec
from .plan import RULES, PreparationPlan, preparation_plan

CACHE_VERSION = 1  # bump when reading or planning changes what they return


@dataclass(frozen=True)
class Fingerprint:
    """What the cached result depends on; ``key`` names the cache file."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    text_field: str
    label_field: str
    min_class_rows: int | None

    @property
    def key(self) -> str:
        blob = json.dumps([CACHE_VERSION, list(RULES), dedup.DEFAULT_THRESHOLD, dedup.BANDS,
                           dedup.ROWS, dedup.MIN_BANDS, vars(self)], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _is_named(dataset: str) -> bool:
    return dataset in NAMES and not Path(dataset).exists()


def fingerprint(dataset: str, text_field: str | None, label_field: str | None,
                min_class_rows: int | None) -> Fingerprint:
    if _is_named(dataset):
        ds = spec(dataset)
        path, text_field, label_field = ds.path, ds.text_field, ds.label_field
    else:
        path = Path(dataset).expanduser().resolve()
    info = os.stat(path)
    return Fingerprint(str(path), info.st_size, info.st_mtime_ns, atomic.sha256_file(path),
                       text_field or "text", label_field or "label", min_class_rows)


def _read(dataset: str, text_field: str | None, label_field: str | None) -> pd.DataFrame:
    if _is_named(dataset):
        return load_named(dataset)[0]
    return load_records(dataset, text_field or "text", label_field or "label")


def _load_cached(file: Path, key: str) -> tuple[pd.DataFrame, PreparationPlan] | None:
    try:
        raw = file.read_bytes()
        header, _, payload = raw.partition(b"\n")
        meta = json.loads(header)
        if meta.get("key") != key or meta.get("sha256") != atomic.sha256_bytes(payload):
            return None
        rows, plan = pickle.loads(payload)
    except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError,
            ImportError, TypeError):
        return None
    return rows, plan


def load_prepared(dataset: str, text_field: str | None = None, label_field: str | None = None,
                  min_class_rows: int | None = None, *, work_dir=None
                  ) -> tuple[pd.DataFrame, PreparationPlan]:
    """The raw rows (as ``load_named`` / ``load_records`` return them) and their plan.

    With ``work_dir`` the result is stored there and reused while the dataset
    is unchanged; without, it is computed every time. Errors in the file raise
    ``DataFileError`` as ``load_records`` does (nothing is stored then).
    """
    if work_dir is None:
        rows = _read(dataset, text_field, label_field)
        return rows, preparation_plan(rows, min_class_rows)
    before = fingerprint(dataset, text_field, label_field, min_class_rows)
    file = Path(work_dir) / "data" / f"prepared-{before.key}.pkl"
    cached = _load_cached(file, before.key)
    if cached is not None:
        return cached
    rows = _read(dataset, text_field, label_field)
    plan = preparation_plan(rows, min_class_rows)
    after = fingerprint(dataset, text_field, label_field, min_class_rows)
    if after == before:  # the file did not change while it was read: safe to keep
        payload = pickle.dumps((rows, plan), protocol=pickle.HIGHEST_PROTOCOL)
        header = json.dumps({"key": before.key, "sha256": atomic.sha256_bytes(payload),
                             "dataset": before.path}).encode()
        atomic.write_bytes(file, header + b"\n" + payload)
    return rows, plan


def label_mapping(dataset: str, label_map: str | None = None) -> dict:
    """Raw label -> display name: the shipped dataset's map, or the ``label_map`` file's."""
    from .prepare import read_label_map

    mapping = dict(spec(dataset).label_map) if _is_named(dataset) else {}
    return read_label_map(label_map) if label_map else mapping
