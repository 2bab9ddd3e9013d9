"""Files users really have: never a hang, a crash or a silent acceptance; each a clear line.

Every file is made here in tmp_path: FIFOs, directories, symbolic-link loops,
archives and spreadsheets under a data file's name, old-Mac line endings,
Unicode line separators inside texts, CSV dialects (semicolons, tabs, Excel's
``sep=`` line, a BOM, multi-line quoted fields), duplicate header columns,
labels written several ways and lopsided classes.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import random
import re
import zipfile

import pytest

from helpers.course.dataset import DatasetError, check_dataset
from helpers.data import validate_file
from helpers.data.__main__ import main

LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<code>[a-z_]+): (?P<message>.+)$")


def texts(n: int, seed: int = 7) -> list[str]:
    """Distinct texts far from each other (no duplicates, no near duplicates)."""
    rng = random.Random(seed)
    return ["".join(chr(0x4E00 + rng.randrange(5000)) for _ in range(24)) for _ in range(n)]


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def table(labels, sep: str = ",") -> str:
    """A CSV text (header text/label) with one distinct text per label."""
    return "".join(f"{t}{sep}{lab}\n" for t, lab in zip(texts(len(labels)), labels, strict=True))


def validate_cli(path, capsys, *args) -> tuple[int, list[str], str]:
    code = main(["validate", str(path), *args])
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err.strip()


def findings(out: list[str]) -> list[tuple[int, str]]:
    parsed = [LINE.match(line) for line in out[:-1]]
    assert all(parsed), out
    return [(int(m["line"]), m["code"]) for m in parsed]


# --- paths that are not regular files -------------------------------------------------------

@pytest.mark.parametrize("make, what", [
    (lambda p: os.mkfifo(p), "a FIFO (named pipe), not a regular file"),
    (lambda p: p.mkdir(), "a directory, not a data file"),
    (lambda p: (os.symlink(p.with_name("b.jsonl"), p),
                os.symlink(p, p.with_name("b.jsonl"))), "a loop of symbolic links"),
    (lambda p: os.symlink(p.with_name("gone.jsonl"), p), "a broken symbolic link"),
], ids=["fifo", "directory", "symlink_loop", "broken_symlink"])
def test_paths_that_are_not_files_exit_2_saying_what_they_are(tmp_path, capsys, make, what):
    path = tmp_path / "data.jsonl"
    make(path)
    code, out, err = validate_cli(path, capsys)  # a FIFO would block here if it were opened
    assert code == 2 and out == []
    assert err.startswith(f"{path}: cannot read: it is {what}")
    with pytest.raises(DatasetError, match=re.escape(what)):
        check_dataset(str(path))


def test_an_unreadable_file_says_permission_denied(tmp_path, capsys, monkeypatch):
    path = tmp_path / "locked.jsonl"
    path.write_bytes(jsonl([{"text": "a", "label": "b"}]))
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(path) else
                        real(p, mode))  # chmod 000 does not stop root, who runs CI
    code, out, err = validate_cli(path, capsys)
    assert code == 2 and "may not read (permission denied)" in err


def test_a_directory_is_not_reported_as_missing_by_the_runner(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DatasetError) as err:
        check_dataset(str(tmp_path / "folder.csv"))
    assert "no such file" not in str(err.value) and "a directory" in str(err.value)


# --- binary files under a text file's name ----------------------------------------------------

def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


BINARIES = {
    "zip.jsonl": (_zip({"train.jsonl": jsonl([{"text": "a", "label": "b"}])}),
                  "a ZIP archive (holding train.jsonl)"),
    "xlsx.csv": (_zip({"[Content_Types].xml": "<x/>", "xl/workbook.xml": "<w/>"}),
                 "an Excel workbook"),
    "docx.csv": (_zip({"word/document.xml": "<d/>"}), "a Word document"),
    "gzip.jsonl": (gzip.compress(jsonl([{"text": "a", "label": "b"}])), "gzip-compressed"),
    "gzip.json": (gzip.compress(b'[{"text": "a", "label": "b"}]'), "gzip-compressed"),
    "xls.csv": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "an old Excel or Word file"),
    "parquet.jsonl": (b"PAR1" + bytes(100) + b"PAR1", "a Parquet file"),
    "pdf.csv": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF"),
}


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_archives_and_spreadsheets_are_named_not_decoded(tmp_path, capsys, name):
    data, what = BINARIES[name]
    path = tmp_path / name
    path.write_bytes(data)
    code, out, _ = validate_cli(path, capsys)
    assert code == 1 and findings(out) == [(1, "binary_file")]
    assert f"the file is {what}" in out[0]
    assert "latin-1" not in out[0] and "iconv" not in out[0]  # no advice to convert bytes


# --- line breaks --------------------------------------------------------------------------------

def test_old_mac_line_endings_in_json_lines_are_read_as_lines(tmp_path, capsys):
    path = tmp_path / "mac.jsonl"
    rows = [{"text": t, "label": lab} for t, lab in zip(texts(3), "aab", strict=True)]
    path.write_bytes(jsonl(rows).replace(b"\n", b"\r"))
    code, out, _ = validate_cli(path, capsys)
    assert code == 1 and findings(out) == [(1, "line_endings")]
    assert "read as 3 lines" in out[0] and out[-1].endswith("1 error to fix before the file can "
                                                           "be used")
    assert "3 records" in out[-1]


def test_old_mac_line_endings_in_csv(tmp_path, capsys):
    path = tmp_path / "mac.csv"
    path.write_bytes(("text,label\r" + table("aab").replace("\n", "\r")).encode())
    code, out, _ = validate_cli(path, capsys)
    assert findings(out) == [(1, "line_endings")] and "3 records" in out[-1]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x0c", "\x1c", "\x0b"],
                         ids=["u2028", "u2029", "u0085", "form_feed", "file_sep", "vtab"])
def test_unicode_line_separators_inside_texts_are_characters(tmp_path, capsys, char):
    ts = texts(3)
    rows = [{"text": ts[0][:5] + char + ts[0][5:], "label": "a"}, {"text": ts[1], "label": "a"},
            {"text": ts[2], "label": "b"}]
    path = tmp_path / "seps.jsonl"
    path.write_bytes(jsonl(rows))  # json.dumps escapes the C0 controls, keeps U+2028/U+0085 raw
    code, out, _ = validate_cli(path, capsys)
    if char == "\u0085":  # a cp1252 "…" decoded as Latin-1: said so, on its own line
        assert findings(out) == [(1, "mojibake")] and "'…" in out[0] and "3 records" in out[-1]
        return
    assert code == 0 and out == [f"{path}: 3 records, no problems"]
    csv_path = tmp_path / "seps.csv"
    csv_path.write_text(f'text,label\n"{rows[0]["text"]}",a\n{ts[1]},a\n{ts[2]},b\n',
                        encoding="utf-8")
    valid, report = validate_file(csv_path, "table")
    assert report.ok and [line for line, _ in valid] == [2, 3, 4]
    assert valid[0][1]["text"] == rows[0]["text"]


# --- CSV dialects -------------------------------------------------------------------------------

def _multiline(sep: str) -> str:
    """A header, then a quoted text spanning three lines, then 40 ordinary rows."""
    body = table(["a", "b"] * 20, sep)
    return f'text{sep}label\n"first line\nsecond line\nthird"{sep}a\n' + body


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs"),
                                       ("|", "vertical bars")])
def test_a_multi_line_field_no_longer_hides_the_separator(tmp_path, capsys, sep, name):
    path = tmp_path / "multi.csv"
    path.write_text(_multiline(sep), encoding="utf-8")
    code, out, _ = validate_cli(path, capsys)
    assert findings(out) == [(1, "csv_delimiter")]  # no missing_field for every row
    assert f"separated by {name}" in out[0] and "41 records" in out[-1]


def test_excel_sep_line_sets_the_separator_and_keeps_line_numbers(tmp_path, capsys):
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\ntext;label\n" + table("ab", ";") + "only one field\n",
                    encoding="utf-8")
    code, out, _ = validate_cli(path, capsys)
    assert findings(out) == [(1, "csv_delimiter"), (5, "bad_csv_row")]
    assert "'sep=;'" in out[0] and "skiprows=1" in out[0]


def test_bom_and_semicolons(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("text;label\n" + table("aab", ";")).encode("utf-8"))
    code, out, _ = validate_cli(path, capsys)
    assert code == 1 and sorted(findings(out)) == [(1, "bom"), (1, "csv_delimiter")]


def test_tab_separated_file_named_csv(tmp_path, capsys):
    path = tmp_path / "tabs.csv"
    path.write_text("text\tlabel\n" + table("aab", "\t"), encoding="utf-8")
    _, out, _ = validate_cli(path, capsys)
    assert findings(out) == [(1, "csv_delimiter")] and "sep='\\t'" in out[0]


def test_commas_inside_a_semicolon_header_do_not_win(tmp_path, capsys):
    path = tmp_path / "mixed.csv"
    path.write_text('"text, cleaned";label\n' + table("aab", ";"), encoding="utf-8")
    _, out, _ = validate_cli(path, capsys, "--text-field", "text, cleaned")
    assert findings(out) == [(1, "csv_delimiter")]


def test_a_clean_comma_file_stays_clean(tmp_path, capsys):
    path = tmp_path / "ok.csv"
    path.write_text("text,label\n" + table("aabb"), encoding="utf-8")
    assert validate_cli(path, capsys) == (0, [f"{path}: 4 records, no problems"], "")


@pytest.mark.parametrize("header, columns", [("text,label,text", "1, 3"),
                                             ("text,label,label,note", "2, 3")])
def test_duplicate_header_columns_are_an_error(tmp_path, capsys, header, columns):
    path = tmp_path / "dup.csv"
    width = header.count(",") + 1
    rows = "".join(f"{t}{',x' * (width - 1)}\n" for t in texts(2))
    path.write_text(f"{header}\n{rows}", encoding="utf-8")
    _, out, _ = validate_cli(path, capsys)
    assert (1, "duplicate_column") in findings(out)
    assert f"(columns {columns})" in next(x for x in out if "duplicate_column" in x)


def test_duplicate_columns_in_a_semicolon_file_after_the_sep_line(tmp_path, capsys):
    path = tmp_path / "dup2.csv"
    path.write_text("sep=;\ntext;label;text\n" + "".join(f"{t};a;b\n" for t in texts(2)),
                    encoding="utf-8")
    _, out, _ = validate_cli(path, capsys)
    assert (2, "duplicate_column") in findings(out)


# --- labels -------------------------------------------------------------------------------------

@pytest.mark.parametrize("labels, shown", [
    (["1", "1.0", "01", "2", "2"], "'1' (1 row), '1.0' (1 row) and '01' (1 row)"),
    (["Sports", "sports", "SPORTS", "News", "News"], "'Sports' (1 row), 'sports' (1 row) and "
                                                     "'SPORTS' (1 row)"),
    (["Ｓｐｏｒｔｓ", "Sports", "Sports", "News", "News"],
     "'Ｓｐｏｒｔｓ' (1 row) and 'Sports' (2 rows)"),
    (["１", "1", "1", "2", "2"], "'１' (1 row) and '1' (2 rows)"),
    (["体育", "体育 ", "财经", "财经", "財經"], None),  # stripped: no variant; 財經 is another word
], ids=["numbers", "case", "full_width", "full_width_digit", "not_variants"])
def test_labels_written_several_ways_are_named(tmp_path, capsys, labels, shown):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n" + table(labels), encoding="utf-8")
    code, out, _ = validate_cli(path, capsys)
    codes = [c for _, c in findings(out)] if code else []
    if shown is None:
        assert "label_variants" not in codes
        return
    assert codes == ["label_variants"]
    assert f"labels {shown} look like one label written" in out[0]
    assert out[-1].endswith("1 error to fix before the file can be used")


def test_label_variants_stop_the_runner_with_the_line(tmp_path):
    path = tmp_path / "v.jsonl"
    ts = texts(40)
    path.write_bytes(jsonl([{"text": t, "label": ["pos", "neg", "Pos"][i % 3]}
                            for i, t in enumerate(ts)]))
    with pytest.raises(DatasetError, match=r"v\.jsonl:3: label_variants: labels 'pos'"):
        check_dataset(str(path))


def test_a_3000_to_21_split_is_reported_with_its_counts(tmp_path, capsys):
    path = tmp_path / "lopsided.jsonl"
    ts = texts(3021)
    rows = [{"text": t, "label": "common" if i < 3000 else "rare"} for i, t in enumerate(ts)]
    path.write_bytes(jsonl(rows))
    code, out, _ = validate_cli(path, capsys)
    assert code == 1 and findings(out) == [(3001, "class_imbalance")]
    assert "class 'rare' has 21 rows and class 'common' 3,000 rows (143:1, over 20:1)" in out[0]
    assert "[data problem: rows are kept" in out[0]
    assert out[-1].endswith("1 warning about the data as a whole (rows are kept)")


def test_a_20_to_1_split_is_not_reported(tmp_path, capsys):
    path = tmp_path / "fine.csv"
    path.write_text("text,label\n" + table(["a"] * 40 + ["b"] * 2), encoding="utf-8")
    assert validate_cli(path, capsys)[0] == 0


def test_every_new_code_is_explained_in_the_code_table():
    from helpers.data import CODES, DATA_CODES

    new = {"binary_file", "line_endings", "duplicate_column", "label_variants", "class_imbalance"}
    assert new <= set(CODES) and new & DATA_CODES == {"class_imbalance"}
