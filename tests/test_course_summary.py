"""summary.json keeps its promised keys; summary.md is a short readable report."""
import json

from helpers.course.summary import REQUIRED, build_summary, render_markdown, write_summary

RUN = {"backend": "sandbox", "mode": "live", "dataset": "sports_en", "text_field": "text",
       "label_field": "label", "seconds": 12.34}
TIMES = [{"notebook": "01_zero_shot", "output": "01_zero_shot.ipynb", "seconds": 3.14, "status": "ok"},
         {"notebook": "06_before_after", "output": "06_before_after.ipynb", "seconds": 5.0, "status": "ok"}]


def test_required_keys_are_present_even_when_no_notebook_recorded_them():
    s = build_summary({"zero_shot_accuracy": 0.5}, RUN, TIMES, labels=["a", "b"])
    assert set(REQUIRED) <= set(s)
    assert s["fine_tuned_accuracy"] is None and s["labels"] == ["a", "b"]
    assert s["backend"] == "sandbox" and s["seconds"] == 12.34 and s["status"] == "ok"


def test_recorded_labels_win_over_the_dataset_labels():
    s = build_summary({"labels": ["体育", "财经"]}, RUN, TIMES, labels=["sports", "finance"])
    assert s["labels"] == ["体育", "财经"]


def test_markdown_has_before_after_cost_timings_and_links(tmp_path):
    results = {"zero_shot_accuracy": 0.625, "fine_tuned_accuracy": 0.9, "n_train": 200, "n_test": 80,
               "labels": ["baseball", "hockey"], "estimated_trained_tokens": 12345,
               "trained_tokens": 12001, "fine_tuned_model": "ft:sandbox-base:x:1",
               "estimated_cost_usd": 0.0371, "job_id": "ftjob-1"}
    json_path, md_path = write_summary(tmp_path, build_summary(results, RUN, TIMES))
    md = md_path.read_text(encoding="utf-8")
    assert "| Zero-shot | 0.625 (62.5%) | — |" in md
    assert "| Fine-tuned (`ft:sandbox-base:x:1`) | 0.900 (90.0%) | — |" in md
    assert "| Change | +0.275 | |" in md
    assert "| Estimated trained tokens | 12,345 |" in md and "| Estimated cost | $0.0371 |" in md
    assert "| [01_zero_shot](01_zero_shot.ipynb) | 3.1 | ok |" in md
    assert "| **Total run** | 12.3 | ok |" in md
    assert "| job_id | ftjob-1 |" in md  # figures without a section are not dropped
    assert json.loads(json_path.read_text(encoding="utf-8"))["trained_tokens"] == 12001


def test_failed_run_says_where_it_stopped():
    error = {"notebook": "03_tokens_and_cost", "output": "03_tokens_and_cost.ipynb",
             "where": "cell 4 (In [3])", "error": "KeyError: 'x'", "cell_index": 3, "cell_source": ""}
    s = build_summary({}, RUN, TIMES, error=error)
    md = render_markdown(s)
    assert s["status"] == "failed" and s["error"]["where"] == "cell 4 (In [3])"
    assert "**Stopped** in [03_tokens_and_cost](03_tokens_and_cost.ipynb) at cell 4 (In [3])" in md
    assert "| Fine-tuned | — | — |" in md and "Change" not in md
