"""Findings in a data file, each tied to a file, a line, a code and a severity.

Two severities. An **error** means the file cannot be used as it is (it is
malformed, a field is missing, the encoding is wrong): the course stops and
says what to fix. A **data** problem is a row the file can do without (exact
or near duplicates, empty texts, classes under the minimum): preparation drops
those rows and reports each one (``helpers.data.preparation_plan``), so
nothing is dropped silently.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..words import plural

# Every code the validator can report. The first seven are the checks of
# OpenAI's cookbook "data preparation and analysis for chat model fine-tuning".
CODES = {
    "data_type": "a record (or a message) is not a JSON object, or a field has the wrong type",
    "missing_messages_list": "a chat example has no non-empty 'messages' list",
    "message_missing_key": "a message lacks 'role' or 'content' (or a tool message its "
                           "'tool_call_id')",
    "message_unrecognized_key": "a message has a key the fine-tuning API does not accept",
    "unrecognized_role": "a message role is not system, developer, user, assistant, tool or "
                         "function",
    "missing_content": "a message has no content (and no function or tool call)",
    "example_missing_assistant_message": "a chat example has no assistant message to learn from",
    "invalid_weight": "a message 'weight' is not 0 or 1, or is not on an assistant message",
    "invalid_json": "a line is not JSON: a syntax error, a blank line, NaN/Infinity, an integer "
                    "of over 4,300 digits, or nesting too deep",
    "nul_byte": "a line holds a NUL byte (\\x00)",
    "not_json_lines": "a JSON-lines file holds one JSON array instead of one value per line",
    "bad_csv_row": "a CSV row has more or fewer fields than the header, or cannot be parsed",
    "csv_delimiter": "a CSV file is separated by something other than commas",
    "missing_field": "the text or label field (or prompt/completion) is missing or empty",
    "empty_text": "the text to classify (or a message) is empty or only whitespace",
    "unknown_label": "the label is not one of the expected labels",
    "duplicate_example": "the same example appears earlier in the file",
    "near_duplicate": "a text nearly repeats an earlier one (character 3-gram Jaccard >= 0.8)",
    "rare_class": "a class has fewer rows than the minimum a class needs",
    "too_long": "the example is longer than the model accepts",
    "mojibake": "text was decoded with the wrong encoding (e.g. UTF-8 read as cp1252)",
    "bom": "the file starts with a byte-order mark",
    "non_utf8": "the file is not UTF-8 (e.g. GBK, UTF-16 or UTF-32); convert it first",
    "empty_file": "the file holds no records",
    "binary_file": "the file is an archive, a spreadsheet or compressed (zip, xlsx, gzip...), "
                   "not text; export or unpack it first",
    "line_endings": "lines end with a lone carriage return (old Mac), not a line feed",
    "duplicate_column": "a column name appears more than once in the CSV header",
    "label_variants": "one label written several ways (1/1.0/01, Sports/sports, full/half "
                      "width): the course would count them as different classes",
    "class_imbalance": "the largest class has over 20 times the rows of the smallest",
    "too_few_examples": "a training file has fewer examples than the service accepts (10)",
}

ERROR, DATA = "error", "data"
MAX_IMBALANCE = 20  # largest class / smallest class above this is reported (class_imbalance)

DATA_CODES = frozenset({"duplicate_example", "near_duplicate", "empty_text", "rare_class",
                        "class_imbalance"})
# Findings about the whole data, not a row: what happens (instead of HANDLED's row drop).
FILE_NOTES = {"class_imbalance": "rows are kept; the small classes will be learned and scored "
                                 "poorly: add rows to them or sample the large ones"}
SEVERITY = {code: DATA if code in DATA_CODES else ERROR for code in CODES}

# What happens to a row with a data problem, by kind of file: (one row, several rows).
HANDLED = {
    "table": ("preparation drops this row", "preparation drops these rows and reports them"),
    "legacy": ("prepare_legacy drops this record", "prepare_legacy drops these records"),
    "chat": ("the service accepts it; drop or fix it before training",
             "the service accepts them; drop or fix them before training"),
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    code: str
    message: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.code]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}: {self.message}"


@dataclass
class Report:
    """Every finding in one file, how many records were read, and the kind of file."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    kind: str | None = None  # chat, legacy or table, once known

    def add(self, line: int, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown problem code {code!r}")
        self.problems.append(Problem(self.path, line, code, message))

    @property
    def ok(self) -> bool:
        """No findings at all (what the command line's exit code 0 means)."""
        return not self.problems

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def data_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == DATA]

    @property
    def usable(self) -> bool:
        """No errors: the file can be used once its data problems are handled."""
        return not self.errors

    def counts(self) -> Counter:
        return Counter(p.code for p in self.problems)

    def lines(self, code: str) -> list[int]:
        return [p.line for p in self.problems if p.code == code]

    def annotated(self, problem: Problem) -> str:
        """``PATH:LINE: code: message``, saying what happens to a data problem's row."""
        if problem.code in FILE_NOTES:
            return f"{problem} [data problem: {FILE_NOTES[problem.code]}]"
        if problem.severity == DATA:
            return f"{problem} [data problem: {HANDLED[self.kind or 'table'][0]}]"
        return str(problem)

    def summary(self) -> str:
        if self.ok:
            return f"{self.path}: {plural(self.records, 'record')}, no problems"
        by_code = ", ".join(f"{c}={n}" for c, n in sorted(self.counts().items()))
        errors = len(self.errors)
        notes = sum(p.code in FILE_NOTES for p in self.problems)
        data = len(self.data_problems) - notes
        parts = []
        if errors:
            parts.append(f"{plural(errors, 'error')} to fix before the file can be used")
        if notes:
            parts.append(f"{plural(notes, 'warning')} about the data as a whole (rows are kept)")
        if data:
            handled = HANDLED[self.kind or "table"][0 if data == 1 else 1]
            parts.append(f"{plural(data, 'data problem')} ({handled})")
        return (f"{self.path}: {plural(len(self.problems), 'problem')} in "
                f"{plural(self.records, 'record')} "
                f"({by_code}): {'; '.join(parts)}")

    def __str__(self) -> str:
        return "\n".join([*map(self.annotated, self.problems), self.summary()])


class DataFileError(ValueError):
    """A data file has errors; ``report`` lists every finding."""

    def __init__(self, report: Report, limit: int = 20):
        shown = "\n".join(map(report.annotated, report.problems[:limit]))
        more = len(report.problems) - limit
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__(f"{report.summary()}\n{shown}{tail}")
        self.report = report
