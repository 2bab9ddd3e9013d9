"""Problems found in a data file, each tied to a file, a line and a code."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Every code the validator can report. The first seven are the checks of
# OpenAI's cookbook "data preparation and analysis for chat model fine-tuning".
CODES = {
    "data_type": "a record (or a message) is not a JSON object, or a field has the wrong type",
    "missing_messages_list": "a chat example has no non-empty 'messages' list",
    "message_missing_key": "a message lacks 'role' or 'content'",
    "message_unrecognized_key": "a message has a key the fine-tuning API does not accept",
    "unrecognized_role": "a message role is not system, user, assistant, tool or function",
    "missing_content": "a message has no content (and no function or tool call)",
    "example_missing_assistant_message": "a chat example has no assistant message to learn from",
    "invalid_weight": "a message 'weight' is not 0 or 1, or is not on an assistant message",
    "invalid_json": "a line is not valid JSON (or is blank)",
    "bad_csv_row": "a CSV row has more or fewer fields than the header",
    "missing_field": "the text or label field (or prompt/completion) is missing or empty",
    "empty_text": "the text to classify (or a message) is empty or only whitespace",
    "unknown_label": "the label is not one of the expected labels",
    "duplicate_example": "the same example appears earlier in the file",
    "too_long": "the example is longer than the model accepts",
    "mojibake": "text was decoded with the wrong encoding (e.g. UTF-8 read as cp1252)",
    "bom": "the file starts with a byte-order mark",
    "non_utf8": "the file is not UTF-8 (e.g. GBK); convert it first",
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}: {self.message}"


@dataclass
class Report:
    """Every problem in one file, plus how many records were read."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    records: int = 0

    def add(self, line: int, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unknown problem code {code!r}")
        self.problems.append(Problem(self.path, line, code, message))

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> Counter:
        return Counter(p.code for p in self.problems)

    def lines(self, code: str) -> list[int]:
        return [p.line for p in self.problems if p.code == code]

    def summary(self) -> str:
        if self.ok:
            return f"{self.path}: {self.records} records, no problems"
        by_code = ", ".join(f"{c}={n}" for c, n in sorted(self.counts().items()))
        return f"{self.path}: {len(self.problems)} problems in {self.records} records ({by_code})"

    def __str__(self) -> str:
        return "\n".join([*map(str, self.problems), self.summary()])


class DataFileError(ValueError):
    """A data file has problems; ``report`` lists every one of them."""

    def __init__(self, report: Report, limit: int = 20):
        shown = "\n".join(map(str, report.problems[:limit]))
        more = len(report.problems) - limit
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__(f"{report.summary()}\n{shown}{tail}")
        self.report = report
