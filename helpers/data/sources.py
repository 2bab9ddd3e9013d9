"""Read a JSON-lines, JSON or CSV file into (line number, record) pairs; never crash.

Hand-written rather than ``pandas.read_json`` / ``read_csv`` because those
stop at the first bad line (or silently coerce it) and do not say which source
line a row came from; the validator must report every bad line by number and
go on. What it survives, each reported with its line: a wrong encoding
(GBK, UTF-16/UTF-32 with or without a byte-order mark), NUL bytes, blank lines,
``NaN``/``Infinity``, integers of more than 4,300 digits, nesting too deep for
the parser, a JSON array in a JSON-lines file, CSV fields over the csv
module's 131,072-character limit, and a CSV separated by something other than
commas (found with ``csv.Sniffer``).
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import chat_format
from .report import Report

_CJK = re.compile(r"[\u4e00-\u9fff]")
# What to suggest when a file is not UTF-8: (codec to try, name shown to the user).
_FALLBACK_ENCODINGS = [("gb18030", "GBK"), ("cp1252", "cp1252"), ("latin-1", "latin-1")]
# Byte-order marks, UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
         (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16")]
_SNIFF_DELIMITERS = ";\t|:"
_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "vertical bars", ":": "colons"}


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


def _zero_share(raw: bytes, offset: int, step: int) -> float:
    picked = raw[offset::step]
    return picked.count(0) / len(picked) if picked else 0.0


def wide_encoding(raw: bytes) -> str | None:
    """'UTF-32LE', 'UTF-32BE', 'UTF-16LE' or 'UTF-16BE' for a file without a byte-order mark.

    Data files are mostly ASCII (braces, quotes, commas, digits), and ASCII in
    UTF-16 or UTF-32 leaves zero bytes at fixed positions; UTF-8 text has none.
    """
    sample = raw[:65536]
    sample = sample[:len(sample) - len(sample) % 4]
    if len(sample) < 4 or sample.count(0) < len(sample) // 8:
        return None
    share = [_zero_share(sample, i, 4) for i in range(4)]
    if share[2] > 0.9 and share[3] > 0.9 and share[0] < 0.5:
        return "UTF-32LE"
    if share[0] > 0.9 and share[1] > 0.9 and share[3] < 0.5:
        return "UTF-32BE"
    even, odd = _zero_share(sample, 0, 2), _zero_share(sample, 1, 2)
    if odd > 0.3 and even < 0.05:
        return "UTF-16LE"
    if even > 0.3 and odd < 0.05:
        return "UTF-16BE"
    return None


def decode(path: str, raw: bytes, report: Report) -> str:
    """Text of a file; a BOM or a non-UTF-8 encoding is reported, then worked around."""
    for bom, codec, name in _BOMS:
        if raw.startswith(bom):
            report.add(1, "non_utf8", f"file is {name} (it starts with a {name} byte-order mark), "
                       f"not UTF-8; {convert_hint(path, name)}")
            return raw.decode(codec, errors="replace")
    wide = wide_encoding(raw)
    if wide:
        report.add(1, "non_utf8", f"file is {wide} without a byte-order mark (zero bytes between "
                   f"the characters), not UTF-8; {convert_hint(path, wide)}")
        return raw.decode(wide.lower(), errors="replace")
    if raw.startswith(codecs.BOM_UTF8):
        report.add(1, "bom", "file starts with a UTF-8 byte-order mark (EF BB BF); the first key "
                             "would read as '\\ufeff...'; save the file as UTF-8 without BOM")
        raw = raw[len(codecs.BOM_UTF8):]
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
    for number, value in chat_format.json_lines(text):
        if isinstance(value, chat_format.LineError):
            report.add(number, *value.problem)
            yield Record(number, None)
        else:
            yield Record(number, value)


class _Lines:
    """Line number of a text position, for positions visited in increasing order."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


_WS = re.compile(r"\s*")


class _Bad:
    """Stands in for a value the strict reader refuses (NaN, a huge integer), to find its row."""

    def __init__(self, problem: chat_format.FormatProblem):
        self.problem = problem


def _lenient(parse):
    def hook(text):
        try:
            return parse(text)
        except chat_format.LineError as err:
            return _Bad(err.problem)
    return hook


# Reads what chat_format.loads refuses, leaving a _Bad in its place, so a whole
# JSON document can still be read and the refused value blamed on its own row.
_LENIENT = json.JSONDecoder(**{k: _lenient(hook) for k, hook in chat_format.STRICT_JSON.items()})


def _first_bad(value) -> chat_format.FormatProblem | None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Bad):
            return item.problem
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _elements(text: str, pos: int, lines: _Lines):
    """(line, key, value, pos) for each element of the array or object starting at ``pos``.

    Only called on text that the lenient decoder accepted, so the syntax is known good.
    """
    opener, pos = text[pos], pos + 1
    closer = "]" if opener == "[" else "}"
    while True:
        pos = _WS.match(text, pos).end()
        if text[pos] == closer:
            return
        key = None
        if opener == "{":
            key, pos = _LENIENT.raw_decode(text, pos)
            pos = _WS.match(text, _WS.match(text, pos).end() + 1).end()  # skip ':'
        line = lines.at(pos)
        value, end = _LENIENT.raw_decode(text, pos)
        yield line, key, value, pos
        pos = _WS.match(text, end).end()
        if text[pos] == ",":
            pos += 1


def _too_deep_at(text: str, limit: int = 500) -> int:
    """Line where nesting first goes ``limit`` levels deep (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for pos, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth >= limit:
                return text.count("\n", 0, pos) + 1
        elif ch in "]}":
            depth -= 1
    return 1


def _json_document(text: str, report: Report):
    """Records of a JSON array, of {"data": [...]}, or of an object whose values are records."""
    try:
        doc = _LENIENT.decode(text)
    except json.JSONDecodeError as err:
        report.add(err.lineno, "invalid_json", f"{err.msg} at column {err.colno}; the rest of "
                   "the file cannot be read")
        return
    except RecursionError:
        report.add(_too_deep_at(text), "invalid_json", "nested too deeply to parse (arrays or "
                   "objects inside each other about a thousand levels deep); the file cannot be read")
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
        bad = _first_bad(value)
        if bad is not None:
            report.add(line, *bad)
            yield Record(line, None)
            continue
        if key is not None and isinstance(value, dict) and "key" not in value:
            value = {"key": key, **value}  # keep the object's key as a column
        yield Record(line, value)


@contextlib.contextmanager
def _csv_field_limit():
    """Lift the csv module's 131,072-character field limit while reading (restored after)."""
    old = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _delimiter(text: str, report: Report) -> str:
    """',' unless the header is one field and ``csv.Sniffer`` finds another separator."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    sample = "\n".join(text.split("\n", 50)[:50])
    try:
        found = csv.Sniffer().sniff(sample, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        return ","
    if found not in header:
        return ","
    name = _DELIMITER_NAMES.get(found, repr(found))
    report.add(1, "csv_delimiter", f"the file is separated by {name} ({found!r}), not commas; the "
               "rows below were read with that separator to find other problems; save it as "
               f"comma-separated CSV, e.g. pandas.read_csv(path, sep={found!r}).to_csv(new_path, "
               "index=False)")
    return found


def _csv_rows(text: str, report: Report):
    """Rows numbered by their first line (a quoted field may span several lines)."""
    nul_lines = {number for number, line in enumerate(text.split("\n"), 1) if "\x00" in line}
    for number in sorted(nul_lines):
        report.add(number, "nul_byte", "NUL byte (\\x00) in this line; the file may be UTF-16 or "
                                       "binary")
    delimiter = _delimiter(text, report)
    with _csv_field_limit():
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter,
                                restkey="\0extra")
        try:
            if reader.fieldnames is None:  # reading the header; an empty file has none
                return
        except csv.Error as err:
            report.add(1, "bad_csv_row", f"the header cannot be parsed ({err})")
            return
        end = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                start, end = end + 1, reader.line_num
                report.add(start, "bad_csv_row", f"cannot be parsed ({err})")
                yield Record(start, None)
                continue
            start, end = end + 1, reader.line_num
            if nul_lines.intersection(range(start, end + 1)):
                yield Record(start, None)
                continue
            if "\0extra" in row or None in row.values():
                have = len(reader.fieldnames) + len(row.get("\0extra", []))
                have -= sum(v is None for v in row.values())
                report.add(start, "bad_csv_row",
                           f"{have} fields, the header has {len(reader.fieldnames)}")
                yield Record(start, None)
                continue
            yield Record(start, row)


def file_format(path: str) -> str:
    """'csv', 'json' or 'jsonl' from the file name."""
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".json": "json"}.get(suffix, "jsonl")


def _parses(text: str) -> bool:
    try:
        _LENIENT.decode(text)
        return True
    except (json.JSONDecodeError, RecursionError):
        return False


def _looks_like_json_lines(text: str) -> bool:
    if _parses(text):
        return False
    first = text.lstrip().split("\n", 1)[0]
    try:
        return isinstance(_LENIENT.decode(first), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _json_array_in_lines(text: str) -> bool:
    """True when a JSON-lines file is really one JSON array (often pretty-printed)."""
    stripped = text.lstrip()
    if not stripped.startswith("["):
        return False
    first = stripped.split("\n", 1)[0]
    return not _parses(first) or first.strip() == stripped.strip()


def read_records(path: str, report: Report, fmt: str | None = None) -> list[Record]:
    """All records of a file; unreadable ones have ``value=None`` and are in ``report``.

    A ``.json`` file that is really JSON lines (TNEWS ships ``train.json`` that
    way) is read as JSON lines; a JSON-lines file that is really one JSON
    array is reported once and read as an array. Raises OSError if the file
    cannot be opened.
    """
    raw = Path(path).read_bytes()
    text = decode(path, raw, report)
    fmt = fmt or file_format(path)
    if not text.strip():
        records: list[Record] = []
    else:
        if fmt == "json" and _looks_like_json_lines(text):
            fmt = "jsonl"
        elif fmt == "jsonl" and _json_array_in_lines(text):
            report.add(1, "not_json_lines", "the file is one JSON array, not JSON lines (one "
                       "example per line); its elements were read to find other problems; write "
                       "one per line, e.g. pandas.read_json(path).to_json(new_path, "
                       "orient='records', lines=True, force_ascii=False)")
            fmt = "json"
        reader = {"csv": _csv_rows, "json": _json_document, "jsonl": _json_lines}[fmt]
        records = list(reader(text, report))
    report.records = len(records)
    return records
