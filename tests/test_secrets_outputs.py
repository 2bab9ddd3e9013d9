"""Every place a course run writes text goes through the key redactor."""
import json

from helpers import secrets
from helpers.course import progress, summary

KEY = "sk-" + "proj-" + "PLANTEDoutputKey0123456789abcdef"  # assembled so scanners skip it


def test_summary_files_carry_no_key_and_stay_valid_json(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    s = summary.build_summary({"base_url": f"https://x.test/{KEY[:20]}"},
                              {"backend": "openai", "mode": "live", "seconds": 1.0}, [],
                              error={"notebook": "01", "output": "01.ipynb", "where": "cell 2",
                                     "error": f"AuthenticationError: key {KEY[-10:]}",
                                     "cell_index": 1, "cell_source": ""})
    json_path, md_path = summary.write_summary(tmp_path, s)
    for path in (json_path, md_path):
        text = path.read_text(encoding="utf-8")
        assert KEY[:8] not in text and KEY[-8:] not in text and secrets.REDACTED in text
    assert json.loads(json_path.read_text(encoding="utf-8"))["status"] == "failed"


def test_a_kernel_log_is_redacted_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    log = tmp_path / "01.log"
    # the log is bytes the kernel wrote; what is not UTF-8 is kept as it was
    log.write_bytes(f"Traceback: Incorrect API key provided: {KEY[:24]}....\n".encode() + b"\xff\n")
    secrets.redact_file(log)
    assert log.read_bytes() == b"Traceback: Incorrect API key provided: [redacted]\n\xff\n"


def test_progress_lines_are_redacted(monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    progress.say("FAILED:", f"bad key {KEY}", err=True)
    progress.say("risk-adjusted figures ready")
    out = capsys.readouterr()
    assert out.err == "FAILED: bad key [redacted]\n"
    assert out.out == "risk-adjusted figures ready\n"
