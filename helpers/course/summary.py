"""``summary.json`` and ``summary.md`` for one course run."""
from __future__ import annotations

import json
from pathlib import Path

REQUIRED = ("zero_shot_accuracy", "fine_tuned_accuracy", "n_train", "n_test", "labels",
            "estimated_trained_tokens", "trained_tokens", "fine_tuned_model", "backend", "seconds")
# Keys the report shows in its own sections; everything else goes under "Other figures".
_SHOWN = {*REQUIRED, "mode", "dataset", "text_field", "label_field", "status", "error",
          "notebooks", "zero_shot_macro_f1", "fine_tuned_macro_f1", "few_shot_accuracy",
          "estimated_cost_usd", "base_model"}
MISSING = "—"


def build_summary(results: dict, run: dict, notebooks: list[dict], error: dict | None = None,
                  labels: list | None = None) -> dict:
    """Every figure the notebooks recorded, plus how the run went.

    ``run`` holds backend, mode, dataset, fields and total seconds; ``notebooks``
    one ``{"notebook", "output", "seconds", "status"}`` per executed notebook.
    Required keys a notebook did not record are null, so readers can rely on them.
    """
    summary = {key: None for key in REQUIRED}
    if labels:
        summary["labels"] = list(labels)
    summary.update(results)
    summary.update(run)
    summary["notebooks"] = notebooks
    summary["status"] = "failed" if error else "ok"
    if error:
        summary["error"] = error
    return summary


def _num(value, fmt: str) -> str:
    if value is None:
        return MISSING
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


def _accuracy(value) -> str:
    if not isinstance(value, (int, float)):
        return MISSING if value is None else str(value)
    return f"{value:.3f} ({value:.1%})"


def _before_after(s: dict) -> list[str]:
    zero, tuned = s.get("zero_shot_accuracy"), s.get("fine_tuned_accuracy")
    base = s.get("base_model")
    rows = [
        "| Model | Accuracy | Macro F1 |",
        "| --- | --- | --- |",
        f"| Zero-shot{f' (`{base}`)' if base else ''} | {_accuracy(zero)} | "
        f"{_num(s.get('zero_shot_macro_f1'), '.3f')} |",
    ]
    if s.get("few_shot_accuracy") is not None:
        rows.append(f"| Few-shot | {_accuracy(s['few_shot_accuracy'])} | {MISSING} |")
    model = s.get("fine_tuned_model")
    rows.append(f"| Fine-tuned{f' (`{model}`)' if model else ''} | {_accuracy(tuned)} | "
                f"{_num(s.get('fine_tuned_macro_f1'), '.3f')} |")
    if isinstance(zero, (int, float)) and isinstance(tuned, (int, float)):
        rows.append(f"| Change | {tuned - zero:+.3f} | |")
    labels = s.get("labels") or []
    return [*rows, "",
            f"Train rows: {_num(s.get('n_train'), ',')} · test rows: {_num(s.get('n_test'), ',')}"
            f" · {len(labels)} labels: {', '.join(map(str, labels)) or MISSING}"]


def _tokens_and_cost(s: dict) -> list[str]:
    rows = ["| Figure | Value |", "| --- | --- |",
            f"| Estimated trained tokens | {_num(s.get('estimated_trained_tokens'), ',')} |",
            f"| Trained (billed) tokens | {_num(s.get('trained_tokens'), ',')} |"]
    cost = s.get("estimated_cost_usd")
    rows.append(f"| Estimated cost | {MISSING if cost is None else f'${cost:,.4f}'} |"
                if not isinstance(cost, str) else f"| Estimated cost | {cost} |")
    return rows


def _timings(s: dict) -> list[str]:
    rows = ["| Notebook | Seconds | Status |", "| --- | ---: | --- |"]
    for nb in s["notebooks"]:
        rows.append(f"| [{nb['notebook']}]({nb['output']}) | {nb['seconds']:.1f} | {nb['status']} |")
    rows.append(f"| **Total run** | {s['seconds']:.1f} | {s['status']} |")
    return rows


def _others(s: dict) -> list[str]:
    rest = {k: v for k, v in s.items() if k not in _SHOWN}
    if not rest:
        return []
    rows = ["", "## Other figures", "", "| Figure | Value |", "| --- | --- |"]
    for key, value in sorted(rest.items()):
        if isinstance(value, float):
            text = f"{value:.4g}"  # the exact value is in summary.json
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        cell = str(text).replace("|", r"\|")
        rows.append(f"| {key} | {cell} |")
    return rows


def render_markdown(s: dict) -> str:
    """A short human report: before/after table, tokens and cost, time per notebook."""
    head = [
        "# Course run summary", "",
        f"Dataset `{s.get('dataset')}` · backend `{s.get('backend')}` · mode `{s.get('mode')}`"
        f" · status **{s['status']}** · {s['seconds']:.1f} s in total", "",
    ]
    if s.get("error"):
        err = s["error"]
        head += [f"**Stopped** in [{err['notebook']}]({err['output']}) at {err['where']}: "
                 f"`{err['error']}`", ""]
    body = ["## Before and after fine-tuning", "", *_before_after(s), "",
            "## Tokens and cost", "", *_tokens_and_cost(s), "",
            "## Time per notebook", "", *_timings(s), *_others(s)]
    return "\n".join(head + body) + "\n"


def write_summary(out_dir, summary: dict) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``summary.md`` into ``out_dir``; return both paths."""
    out = Path(out_dir)
    json_path, md_path = out / "summary.json", out / "summary.md"
    json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(summary), encoding="utf-8")
    return json_path, md_path
