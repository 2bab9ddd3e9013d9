"""Read a JSON-lines, JSON or CSV file into (line number, record) pairs; never crash.

Hand-written rather than ``pandas.read_json`` / ``read_csv`` because those
stop at the first bad line (or silently coerce it) and do not say which source
line a row came from; the validator must report every bad line by number and
go on. What it survives, each reported with its line: a wrong encoding
(GBK, UTF-16/UTF-32 with or without a byte-order mark), NUL bytes, blank lines,
``NaN``/``Infinity``, integers of more than 4,300 digits, nesting too deep for
the parser, a JSON array in a JSON-lines file, CSV fields over the csv
module's 131,072-character limit, and a CSV separated by something other than
commas (found from the header line, or Excel's ``sep=;`` first line), and
duplicate header columns. Files that are not text at all (zip, xlsx, gzip...)
are named as what they are; a directory, FIFO, symlink loop or unreadable file
raises OSError with a message saying which (``check_path``), before anything
is opened, so a FIFO never blocks the validator.

Memory: a plain UTF-8 JSON-lines file (nearly all of them) is parsed a line
at a time from the open file (``chat_format.json_lines`` on a binary file),
so its bytes and decoded text (~270 MB at a million rows) are never held
beside the rows; other files are read whole, as their special cases need.
What stays is the rows: one dict per row, its keys shared between rows.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import io
import json
import os
import re
import stat
import sys
import zipfile
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
_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_FORMAT_NAMES = {"csv": "CSV", "json": "JSON", "jsonl": "JSON-lines"}


@dataclass(frozen=True, slots=True)  # slots: no __dict__ per row (100 MB at 1M rows)
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


def _utf8_bom(report: Report) -> None:
    report.add(1, "bom", "file starts with a UTF-8 byte-order mark (EF BB BF); the first key "
                         "would read as '\\ufeff...'; save the file as UTF-8 without BOM")


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
        _utf8_bom(report)
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
        raise AssertionError("latin-1 decodes any bytes") from None  # pragma: no cover


def _json_lines(source, report: Report):
    """Records of JSON lines (text, or a file opened "rb"); dict keys are shared between rows."""
    keys: dict[str, str] = {}
    for number, value in chat_format.json_lines(source):
        if isinstance(value, dict):  # the parser makes new key strings for every row
            value = {keys.setdefault(k, k): v for k, v in value.items()}
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
                   "objects inside each other about a thousand levels deep); the file cannot be "
                   "read")
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


_SEP_LINE = re.compile(r"sep=(.)\r?")


def _fields(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return 0


def _delimiter(header: str, report: Report, sep_line: str | None = None) -> str:
    """The separator giving the header the most columns (commas win a tie); reported if not ','.

    Judged on the header line alone: a quoted field spanning lines further down
    cannot confuse it (``csv.Sniffer`` over a sample could be, and then every
    row of a semicolon file came out as one field).
    """
    found = sep_line or max(",;\t|", key=lambda d: (_fields(header, d), d == ","))
    if found == ",":
        return ","
    name = _DELIMITER_NAMES.get(found, repr(found))
    where = f"Excel's first line 'sep={found}' says so: " if sep_line else ""
    report.add(1, "csv_delimiter", f"{where}the file is separated by {name} ({found!r}), not "
               "commas; the rows below were read with that separator to find other problems; "
               "save it as comma-separated CSV, e.g. pandas.read_csv(path, "
               f"sep={found!r}{', skiprows=1' if sep_line else ''}).to_csv(new_path, index=False)")
    return found


def _duplicate_columns(fieldnames: list[str], line: int, report: Report) -> None:
    where: dict[str, list[int]] = {}
    for i, name in enumerate(fieldnames, 1):
        where.setdefault(name, []).append(i)
    for name, columns in where.items():
        if len(columns) > 1:
            listed = ", ".join(map(str, columns))
            report.add(line, "duplicate_column", f"column {name!r} appears {len(columns)} times "
                       f"in the header (columns {listed}); a CSV reader keeps only the last one's "
                       "values; rename or remove the others")


def _csv_rows(text: str, report: Report):
    """Rows numbered by their first line (a quoted field may span several lines)."""
    nul_lines = {number for number, line in enumerate(text.split("\n"), 1) if "\x00" in line}
    for number in sorted(nul_lines):
        report.add(number, "nul_byte", "NUL byte (\\x00) in this line; the file may be UTF-16 or "
                                       "binary")
    first, _, rest = text.partition("\n")
    sep = _SEP_LINE.fullmatch(first)
    offset = 1 if sep else 0  # Excel's "sep=;" line comes before the header
    body = rest if sep else text
    delimiter = _delimiter(body.split("\n", 1)[0], report, sep.group(1) if sep else None)
    with _csv_field_limit():
        reader = csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter,
                                restkey="\0extra")
        try:
            if reader.fieldnames is None:  # reading the header; an empty file has none
                return
        except csv.Error as err:
            report.add(1 + offset, "bad_csv_row", f"the header cannot be parsed ({err})")
            return
        _duplicate_columns(reader.fieldnames, 1 + offset, report)
        end = reader.line_num + offset
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                start, end = end + 1, reader.line_num + offset
                report.add(start, "bad_csv_row", f"cannot be parsed ({err})")
                yield Record(start, None)
                continue
            start, end = end + 1, reader.line_num + offset
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


_SPECIAL = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")]


class NotReadable(OSError):
    """A path that is not a readable regular file; ``what`` says what it is instead."""

    def __init__(self, code: int, what: str):
        super().__init__(code, what)
        self.what = what


def check_path(path: str) -> None:
    """Raise OSError saying what is wrong unless ``path`` is a regular file this user can read.

    Checked with ``os.stat`` before opening: opening a FIFO waits for a writer
    forever, and "no such file" is the wrong thing to say about a directory.
    What is wrong is a ``NotReadable`` whose ``what`` completes "PATH is ...".
    """
    try:
        info = os.stat(path)  # follows symbolic links
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise NotReadable(errno.ELOOP, "a loop of symbolic links (the link leads back to "
                              "itself); point it at the real file") from None
        if err.errno == errno.ENOENT and os.path.islink(path):
            raise NotReadable(errno.ENOENT, "a broken symbolic link (it points to "
                              f"{os.readlink(path)!r}, which does not exist)") from None
        raise
    if stat.S_ISDIR(info.st_mode):
        raise NotReadable(errno.EISDIR, "a directory, not a data file; give the path of a "
                          ".jsonl, .json or .csv file inside it")
    for test, kind in _SPECIAL:
        if test(info.st_mode):
            raise NotReadable(errno.EINVAL, f"{kind}, not a regular file; reading it could "
                              "wait forever; save the data to a file and give that path")
    if not os.access(path, os.R_OK):
        raise NotReadable(errno.EACCES, "a file this user may not read (permission denied); "
                          "check its permissions (ls -l) or copy it somewhere readable")


def _zip_kind(path: str) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return "a ZIP archive (damaged)", "re-export the data as CSV or JSON lines"
    if any(n.startswith("xl/") for n in names):
        return ("an Excel workbook (.xlsx, a ZIP archive inside)",
                "export it: pandas.read_excel(path).to_csv(new_path, index=False) or, in "
                "Excel, Save As > CSV UTF-8")
    if any(n.startswith("word/") for n in names):
        return "a Word document (.docx)", "copy the data out into a CSV or JSON-lines file"
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return (f"a ZIP archive (holding {shown or 'nothing'})",
            "unzip it and validate the file inside")


_MAGIC = [(b"\x1f\x8b", "gzip-compressed", "unpack it (gunzip -k FILE) or read it with "
           "pandas.read_json(path, lines=True, compression='gzip')"),
          (b"BZh", "bzip2-compressed", "unpack it first (bunzip2 -k FILE)"),
          (b"\xfd7zXZ\x00", "xz-compressed", "unpack it first (unxz -k FILE)"),
          (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "unpack it and validate the file inside"),
          (b"\xd0\xcf\x11\xe0", "an old Excel or Word file (.xls/.doc)",
           "export it: pandas.read_excel(path).to_csv(new_path, index=False)"),
          (b"%PDF", "a PDF", "copy the data out into a CSV or JSON-lines file"),
          (b"PAR1", "a Parquet file", "pandas.read_parquet(path).to_json(new_path, "
           "orient='records', lines=True, force_ascii=False)"),
          (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV")]


def binary_kind(path: str, raw: bytes) -> tuple[str, str] | None:
    """(what the file is, how to get text out of it) for archives and binary formats."""
    if raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    for magic, kind, hint in _MAGIC:
        if raw.startswith(magic):
            return kind, hint
    return None


def _line_endings(text: str, report: Report) -> str:
    """A file whose lines end with a lone CR (classic Mac OS) read as if they ended with LF."""
    if "\r" not in text or "\n" in text:
        return text
    lines = text.count("\r") + (not text.endswith("\r"))
    report.add(1, "line_endings", f"lines end with a carriage return only (old Mac style), so "
               f"the file is one line to most tools; read as {lines:,} lines; save it with LF "
               "(\\n) line endings, e.g. `tr '\\r' '\\n' < FILE > NEW`")
    return text.replace("\r", "\n")


_SCAN_BYTES = 1 << 22


def _plain_json_lines(path: str, fh, report: Report) -> bool:
    """True for a UTF-8 JSON-lines file none of the special cases below concern; ``fh`` is
    then at its first line (after a UTF-8 byte-order mark, reported) for ``_json_lines``.

    Such a file (nearly every one) is read line by line from the file: holding
    its bytes, then its decoded text, beside the parsed rows took ~270 MB more
    at a million rows. One pass over the file first, a chunk at a time, checks
    it decodes as UTF-8 and finds its first character and line endings; any
    file that is binary, not UTF-8, blank, lone-CR or one JSON array goes the
    way of the whole text (``decode``, ``_line_endings``, ...), as before.
    """
    head = fh.read(65536)
    if (binary_kind(path, head) or any(head.startswith(bom) for bom, _, _ in _BOMS)
            or wide_encoding(head)):
        return False
    start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    fh.seek(start)
    decoder = codecs.getincrementaldecoder("utf-8")()
    first, lf, cr = "", False, False
    while True:
        chunk = fh.read(_SCAN_BYTES)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            return False
        if not chunk:
            break
        lf, cr = lf or b"\n" in chunk, cr or b"\r" in chunk
        first = first or text.lstrip()[:1]
    if first in ("", "[") or (cr and not lf):
        return False
    if start:
        _utf8_bom(report)  # as ``decode`` reports it
    fh.seek(start)
    return True


def read_records(path: str, report: Report, fmt: str | None = None) -> list[Record]:
    """All records of a file; unreadable ones have ``value=None`` and are in ``report``.

    A ``.json`` file that is really JSON lines (TNEWS ships ``train.json`` that
    way) is read as JSON lines; a JSON-lines file that is really one JSON
    array is reported once and read as an array. Raises OSError if the file
    cannot be opened (``check_path`` says why).
    """
    check_path(path)
    fmt = fmt or file_format(path)
    if fmt == "jsonl":
        with open(path, "rb") as fh:
            if _plain_json_lines(path, fh, report):
                rows = list(_json_lines(fh, report))
                report.records = len(rows)
                return rows
    raw = Path(path).read_bytes()
    binary = binary_kind(path, raw)
    if binary:
        kind, hint = binary
        report.add(1, "binary_file", f"the file is {kind}, not {_FORMAT_NAMES[fmt]} text; {hint}")
        report.records = 0
        return []
    text = _line_endings(decode(path, raw, report), report)
    del raw  # the decoded text is all that is needed now
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
