"""``manifest.json``: what the course wrote in a data folder, each file with size and SHA-256.

A later notebook reuses a split or a training file only if its bytes still
match the manifest; a file cut by a kill or a full disk, or edited by hand,
is found (``Manifest.problems``) and rebuilt by the caller. Files are written
through ``helpers.atomic`` and only when their bytes change
(``write_if_changed``), so a notebook never rewrites a correct file under a
job submission that is reading it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import atomic

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class FileEntry:
    """A written file's size and SHA-256."""

    bytes: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> FileEntry:
        return cls(len(data), atomic.sha256_bytes(data))


@dataclass
class Manifest:
    """The parameters the folder was made for, the labels and language, and its files."""

    params: dict
    labels: list
    lang: str
    files: dict[str, FileEntry] = field(default_factory=dict)

    def problems(self, folder: Path, names) -> list[str]:
        """One sentence per file in ``names`` that is missing or differs from its entry."""
        found = []
        for name in names:
            path, entry = Path(folder) / name, self.files.get(name)
            if entry is None:
                found.append(f"{path} is not listed in {MANIFEST_NAME}")
            elif not path.is_file():
                found.append(f"{path} is missing")
            elif path.stat().st_size != entry.bytes:
                found.append(f"{path} has {path.stat().st_size:,} bytes where {MANIFEST_NAME} "
                             f"recorded {entry.bytes:,} (cut short or edited)")
            elif atomic.sha256_file(path) != entry.sha256:
                found.append(f"{path} does not match the SHA-256 in {MANIFEST_NAME} (edited or "
                             "damaged)")
        return found

    def to_bytes(self) -> bytes:
        doc = {"params": self.params, "labels": self.labels, "lang": self.lang,
               "files": {name: asdict(entry) for name, entry in sorted(self.files.items())}}
        return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def read(folder: Path) -> tuple[Manifest | None, str | None]:
    """``(manifest, None)``, or ``(None, why)`` when it is missing or cannot be read."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None, f"{path} is missing"
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
        files = {str(k): FileEntry(int(v["bytes"]), str(v["sha256"]))
                 for k, v in (doc.get("files") or {}).items()}
        return Manifest(doc["params"], list(doc["labels"]), str(doc["lang"]), files), None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return None, f"{path} cannot be read ({type(err).__name__}: {err})"


def write(folder: Path, manifest: Manifest) -> bool:
    """Write ``manifest.json`` if its content changed; True when written."""
    return write_if_changed(Path(folder) / MANIFEST_NAME, manifest.to_bytes())


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically write ``data`` to ``path`` unless the file already holds exactly it."""
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic.write_bytes(path, data)
    return True


def jsonl_bytes(rows) -> bytes:
    """JSON lines as UTF-8, non-ASCII kept readable (the format of ``data.write_jsonl``)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
