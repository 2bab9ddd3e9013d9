"""Loaders for the real datasets, for users who are online.

The course cannot redistribute CLUE TNEWS or 20newsgroups; these fetch them
from their publishers. Offline they raise ``DatasetUnavailable`` naming the
shipped sample to use instead.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from urllib import request

import pandas as pd

from .load import load_records, to_frame

# Official download linked from https://github.com/CLUEbenchmark/CLUE (README, TNEWS section).
TNEWS_URL = "https://storage.googleapis.com/cluebenchmark/tasks/tnews_public.zip"
# The archive's sha256 as pinned (and checked on every download) by an independent
# public project that fetches the same URL; this repository is built on machines
# without general internet access, so the value could not be recomputed here.
# A mismatch stops the loader with both hashes, so a changed upstream file is never
# used silently.
TNEWS_SHA256 = "77c476e70cfe0b014a81b84c6e1db2142a8a2f52f4ae0a8216aa75e673933462"
TNEWS_SPLITS = {"train": "train.json", "dev": "dev.json"}  # test.json has no labels

NEWSGROUPS = {"rec.sport.baseball": "baseball", "rec.sport.hockey": "hockey"}


class DatasetUnavailable(RuntimeError):
    """A real dataset could not be fetched (offline, moved, or checksum mismatch)."""


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "course-helpers" / "datasets"


def _download(url: str) -> bytes:
    with request.urlopen(url, timeout=60) as response:
        return response.read()


def fetch_tnews(split: str = "train", cache_dir=None) -> pd.DataFrame:
    """CLUE TNEWS ``train`` or ``dev`` as a DataFrame (text = sentence, label = label_desc)."""
    if split not in TNEWS_SPLITS:
        raise ValueError(f"split must be one of {sorted(TNEWS_SPLITS)}")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    archive = cache / "tnews_public.zip"
    if not archive.is_file():
        try:
            blob = _download(TNEWS_URL)
        except OSError as err:
            raise DatasetUnavailable(
                f"could not download CLUE TNEWS from {TNEWS_URL} ({err}). Offline? Use the shipped "
                "sample instead: helpers.data.load_named('news_zh')") from err
        digest = hashlib.sha256(blob).hexdigest()
        if digest != TNEWS_SHA256:
            raise DatasetUnavailable(f"{TNEWS_URL}: sha256 {digest} does not match the pinned "
                                     f"{TNEWS_SHA256}; the file changed upstream")
        cache.mkdir(parents=True, exist_ok=True)
        archive.write_bytes(blob)
    with zipfile.ZipFile(archive) as zf:
        member = next((n for n in zf.namelist() if n.endswith("/" + TNEWS_SPLITS[split])
                       or n == TNEWS_SPLITS[split]), None)
        if member is None:
            raise DatasetUnavailable(f"{archive}: no {TNEWS_SPLITS[split]} inside")
        target = cache / "tnews" / TNEWS_SPLITS[split]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(zf.read(member))
    return load_records(target, "sentence", "label_desc")


def fetch_newsgroups(subset: str = "train", remove=("headers", "footers", "quotes"),
                     data_home=None) -> pd.DataFrame:
    """20newsgroups baseball vs hockey through scikit-learn; labels 'baseball' / 'hockey'.

    With headers, footers and quotes removed some posts are empty; they are
    kept (the index is the post's position) so callers decide what to do.
    """
    from sklearn import datasets

    try:
        bunch = datasets.fetch_20newsgroups(subset=subset, categories=list(NEWSGROUPS),
                                            remove=tuple(remove), data_home=data_home)
    except OSError as err:
        raise DatasetUnavailable(
            f"could not fetch 20newsgroups through scikit-learn ({err}). Offline? Use the shipped "
            "sample instead: helpers.data.load_named('sports_en')") from err
    names = [NEWSGROUPS[bunch.target_names[t]] for t in bunch.target]
    rows = [(i, {"text": text, "label": name, "newsgroup": bunch.target_names[t]})
            for i, (text, name, t) in enumerate(zip(bunch.data, names, bunch.target, strict=True),
                                                1)]
    return to_frame(rows, "text", "label")

