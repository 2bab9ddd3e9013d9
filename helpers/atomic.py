"""Files that later runs trust: written whole or not at all, and checked on reuse.

Every file the course writes and reads again (splits, training files,
manifests, results, summaries, cassettes, executed notebooks, exports) goes
through ``write_bytes`` / ``write_text``: the data goes to a temporary file in
the same directory, is flushed, and replaces the target with ``os.replace``, so
a kill or a full disk leaves the old file or none, never half of one. A full
disk becomes ``DiskFullError`` ("no space left on DIR ..."), not a raw OSError
or a cut file. Written by hand: the standard library has the pieces
(``tempfile``, ``os.replace``) but no one call that does this.
"""
from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

CHUNK = 1 << 20


class DiskFullError(OSError):
    """No space left where the course writes: names the directory and what to free."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        super().__init__(errno.ENOSPC, f"no space left on {self.directory}: free some space "
                         "there (old run directories under runs/, work/ or .sandbox/ can be "
                         "deleted) and run again; nothing half-written was kept")


def _disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def write_bytes(path, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename in one directory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if _disk_full(exc):
            raise DiskFullError(path.parent) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path, text: str, *, encoding: str = "utf-8", fsync: bool = False) -> Path:
    return write_bytes(path, text.encode(encoding), fsync=fsync)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def stale_temporaries(directory) -> list[Path]:
    """Temporary files this module left behind in ``directory`` (a killed writer's)."""
    return sorted(Path(directory).glob(".*.tmp"))
