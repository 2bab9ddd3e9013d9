"""Paths in a run directory are relative to it, so a run can be moved, shared or published.

The runner avoids absolute paths at the source (kernels run in the run
directory and get relative parameters); ``relative_text`` catches what a cell
still prints or a traceback still names: any absolute path under a known root
(the run directory, the repository, the interpreter's prefixes, the home and
temporary directories) becomes a path relative to the run directory.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from .. import config
from ..atomic import write_text

# A path continues until whitespace, a quote, a bracket, a colon or an ANSI escape.
_TAIL = r"[^\s'\"`<>()\[\]{},;:|\x1b]*"


def relative(path, base) -> str:
    """``path`` relative to ``base`` (POSIX separators); absolute only if no relative path
    exists."""
    try:
        rel = os.path.relpath(Path(path).resolve(), Path(base).resolve())
    except ValueError:  # another drive on Windows
        return str(path)
    return Path(rel).as_posix()


def known_roots(base) -> list[str]:
    roots = {str(Path(base).resolve()), str(config.REPO_ROOT), sys.prefix, sys.base_prefix,
             sys.exec_prefix, str(Path.home()), tempfile.gettempdir(),
             str(Path(tempfile.gettempdir()).resolve())}
    # longest first, so /work/main/runs/x wins over /work/main
    return sorted((r.rstrip(os.sep) for r in roots if r and r != os.sep), key=len, reverse=True)


def _pattern(roots) -> re.Pattern:
    """A root at the start, after a non-path character or after an ANSI colour code (tracebacks)."""
    alternatives = "|".join(re.escape(r) for r in roots)
    return re.compile(rf"(^|\x1b\[[0-9;]*m|[^\w./+-])"
                      rf"((?:{alternatives})(?=[/\\]|(?![\w.-])){_TAIL})")


def relative_text(text: str, base, roots=None) -> str:
    """``text`` with every absolute path under ``roots`` made relative to ``base``."""
    if not text:
        return text
    pattern = _pattern(roots or known_roots(base))
    return pattern.sub(lambda m: m.group(1) + relative(m.group(2), base), text)


def _walk(value, fix):
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [_walk(v, fix) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, fix) for k, v in value.items()}
    return value


def _fix_output(output, fix):
    """Text parts only: images and other binary payloads are left as they are."""
    for key in ("text", "evalue", "traceback"):
        if key in output:
            output[key] = _walk(output[key], fix)
    data = output.get("data", {})
    for mime in list(data):
        if mime.startswith("text/") or mime.endswith("json"):
            data[mime] = _walk(data[mime], fix)
    return output


def relative_notebook(path: Path, base, source: Path | None = None, also=None,
                      target: Path | None = None) -> None:
    """Rewrite an executed notebook so no absolute path is left in its outputs or metadata.

    ``also`` is applied to the same text first (the runner passes the key redactor).
    ``target``: where the result goes (atomically; ``path`` is then removed), for a
    notebook executed into a temporary file; default ``path`` itself.
    """
    import nbformat

    path = Path(path)
    final = Path(target) if target is not None else path
    nb = nbformat.read(path, as_version=4)
    roots = known_roots(base)

    def fix(text):
        return relative_text(also(text) if also else text, base, roots)

    meta = nb.metadata.get("papermill")
    if meta is not None:
        if source is not None:
            meta["input_path"] = relative(source, base)
        meta["output_path"] = relative(final, base)
        for key in ("parameters", "default_parameters"):
            if key in meta:
                meta[key] = _walk(meta[key], fix)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = fix(cell.source)  # papermill's injected-parameters cell
            for output in cell.outputs:
                _fix_output(output, fix)
    write_text(final, nbformat.writes(nb))
    if final != path:
        path.unlink(missing_ok=True)
