"""Read a JSON-lines, JSON or CSV file into (line number, record) pairs.

Hand-written rather than ``pandas.read_json`` / ``read_csv`` because those
stop at the first bad line (or silently coerce it) and do not say which source
line a row came from; the validator must report every bad line by number.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .report import Report

_CJK = re.compile(r"[\u4e00-\u9fff]")
# What to suggest when a file is not UTF-8: (codec to try, name shown to the user).
_FALLBACK_ENCODINGS = [("gb18030", "GBK"), ("cp1252", "cp1252"), ("latin-1", "latin-1")]


@dataclass(frozen=True)
class Record:
    line: int
    value: object  # the parsed JSON value or CSV row dict; None if unparsable


def convert_hint(path: str, encoding: str) -> str:
    """How to convert a file to UTF-8 (shell and Python)."""
    src = Path(path)
    out = src.with_name(f"{src.stem}.utf8{src.suffix}")
    return (f"convert it with `iconv -f {encoding} -t UTF-8 {src} > {out}` or in Python: "
            f"Path('{out}').write_text(Path('{src}').read_text(encoding='{encoding.lower()}'), "
            f"encoding='utf-8')")


def decode(path: str, raw: bytes, report: Report) -> str:
    """Text of a file; a BOM or a non-UTF-8 encoding is reported, then worked around."""
    if raw.startswith(codecs.BOM_UTF8):
        report.add(1, "bom", "file starts with a UTF-8 byte-order mark (EF BB BF); the first key "
                             "would read as '\\ufeff...'; save the file as UTF-8 without BOM")
        raw = raw[len(codecs.BOM_UTF8):]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        report.add(1, "non_utf8", "file is UTF-16 (it starts with a UTF-16 byte-order mark); "
                   + convert_hint(path, "UTF-16"))
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        for codec, name in _FALLBACK_ENCODINGS:
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                continue
            if codec == "gb18030" and not _CJK.search(text):
                continue  # decodes, but does not look like Chinese
            report.add(line, "non_utf8",
                       f"file is not UTF-8 (byte 0x{raw[err.start]:02x} on this line); it reads as "
                       f"{name}; {convert_hint(path, name)}")
            return text
        raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _json_lines(text: str, report: Report):
    lines = text.split("\n")  # not splitlines(): JSON strings may hold U+2028 and friends
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line.strip():
            report.add(number, "invalid_json", "blank line (JSON lines needs one JSON value per line)")
            yield Record(number, None)
            continue
        try:
            yield Record(number, json.loads(line))
        except json.JSONDecodeError as err:
            report.add(number, "invalid_json", f"{err.msg} at column {err.colno}")
            yield Record(number, None)


class _Lines:
    """Line number of a text position, for positions visited in increasing order."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


_WS = re.compile(r"\s*")


def _elements(text: str, pos: int, lines: _Lines):
    """(line, key, value) for each element of the array or object starting at ``pos``.

    Only called on text that ``json.loads`` accepted, so the syntax is known good.
    """
    decoder = json.JSONDecoder()
    opener, pos = text[pos], pos + 1
    closer = "]" if opener == "[" else "}"
    while True:
        pos = _WS.match(text, pos).end()
        if text[pos] == closer:
            return
        key = None
        if opener == "{":
            key, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, _WS.match(text, pos).end() + 1).end()  # skip ':'
        line = lines.at(pos)
        value, end = decoder.raw_decode(text, pos)
        yield line, key, value, pos
        pos = _WS.match(text, end).end()
        if text[pos] == ",":
            pos += 1


def _json_document(text: str, report: Report):
    """Records of a JSON array, of {"data": [...]}, or of an object whose values are records."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        report.add(err.lineno, "invalid_json", f"{err.msg} at column {err.colno}")
        return
    if not isinstance(doc, (list, dict)):
        report.add(1, "data_type", f"top-level JSON is a {type(doc).__name__}, expected an array "
                                   "or an object of records")
        return
    lines = _Lines(text)
    start = _WS.match(text).end()
    if isinstance(doc, dict) and len(doc) == 1 and isinstance(next(iter(doc.values())), list):
        start = next(_elements(text, start, _Lines(text)))[3]  # the list inside {"data": [...]}
    for line, key, value, _ in _elements(text, start, lines):
        if key is not None and isinstance(value, dict) and "key" not in value:
            value = {"key": key, **value}  # keep the object's key as a column
        yield Record(line, value)


def _csv_rows(text: str, report: Report):
    """Rows numbered by their first line (a quoted field may span several lines)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra")
    if reader.fieldnames is None:  # reading the header; an empty file has none
        return
    end = reader.line_num
    for row in reader:
        start, end = end + 1, reader.line_num
        if "\0extra" in row or None in row.values():
            have = len(reader.fieldnames) + len(row.get("\0extra", []))
            have -= sum(v is None for v in row.values())
            report.add(start, "bad_csv_row", f"{have} fields, the header has {len(reader.fieldnames)}")
            yield Record(start, None)
            continue
        yield Record(start, row)


def file_format(path: str) -> str:
    """'csv', 'json' or 'jsonl' from the file name."""
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".json": "json"}.get(suffix, "jsonl")


def _looks_like_json_lines(text: str) -> bool:
    try:
        json.loads(text)
        return False
    except json.JSONDecodeError:
        pass
    first = text.lstrip().split("\n", 1)[0]
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def read_records(path: str, report: Report, fmt: str | None = None) -> list[Record]:
    """All records of a file; unreadable ones have ``value=None`` and are in ``report``.

    A ``.json`` file that is really JSON lines (TNEWS ships ``train.json`` that
    way) is read as JSON lines. Raises OSError if the file cannot be opened.
    """
    raw = Path(path).read_bytes()
    text = decode(path, raw, report)
    fmt = fmt or file_format(path)
    if fmt == "json" and _looks_like_json_lines(text):
        fmt = "jsonl"
    reader = {"csv": _csv_rows, "json": _json_document, "jsonl": _json_lines}[fmt]
    records = list(reader(text, report))
    report.records = len(records)
    return records
