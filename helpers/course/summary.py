"""``summary.json`` and ``summary.md`` for one course run.

``summary.json`` keeps every recorded figure (and the keys INTERFACES.md
promises, null when no notebook recorded them). ``summary.md`` is for people:
labelled figures in groups (``results.FIGURES``), side experiments under their
own heading, links relative to the run directory.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import atomic
from ..results import (
    APPROACH_FIGURES,
    APPROACHES,
    FIGURES,
    FINE_TUNING_AVAILABLE,
    GROUPS,
    OPTIONAL_APPROACHES,
    SIDE_EXPERIMENTS,
    SIDE_FIGURES,
    approach_key,
    show,
)
from ..secrets import redact

REQUIRED = ("zero_shot_accuracy", "fine_tuned_accuracy", "n_train", "n_test", "labels",
            "estimated_trained_tokens", "trained_tokens", "fine_tuned_model", "backend", "seconds")
MISSING = "—"
NOT_AVAILABLE = "not available on this backend"
# Keys summary.md shows in its own sections (the rest is listed in FIGURES or stays in the JSON).
_RUN_KEYS = {"mode", "dataset", "text_field", "label_field", "status", "error", "notebooks",
             "base_model", "base_url", "preparation", "n_valid", FINE_TUNING_AVAILABLE,
             "estimated_cost_usd", "billed_cost_usd", "estimated_cost_usd_gpt_4o_mini",
             "job_id", "logs_dir"}


def build_summary(results: dict, run: dict, notebooks: list[dict], error: dict | None = None,
                  labels: list | None = None) -> dict:
    """Every figure the notebooks recorded, plus how the run went.

    ``run`` holds backend, mode, dataset, fields, total seconds and the
    pre-check's ``preparation`` report; ``notebooks`` one ``{"notebook",
    "output", "seconds", "status"[, "log"]}`` per executed notebook. Required
    keys a notebook did not record are null, so readers can rely on them.
    """
    summary: dict[str, object] = {key: None for key in REQUIRED}
    if labels:
        summary["labels"] = list(labels)
    summary.update(results)
    summary.update(run)
    summary["notebooks"] = notebooks
    summary["status"] = "failed" if error else "ok"
    if error:
        summary["error"] = error
    return summary


def _cell(text) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _accuracy(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return MISSING if value is None else str(value)
    return f"{value:.3f} ({value:.1%})"


def _fine_tuning_off(s: dict) -> bool:
    return s.get(FINE_TUNING_AVAILABLE) is False


def _before_after(s: dict) -> list[str]:
    off = _fine_tuning_off(s)
    base, model = s.get("base_model"), s.get("fine_tuned_model")
    rows = ["| Model | Accuracy | Macro F1 |", "| --- | --- | --- |"]
    for approach, name in APPROACHES.items():
        acc = s.get(approach_key(approach, "accuracy"))
        f1 = s.get(approach_key(approach, "macro_f1"))
        if approach in OPTIONAL_APPROACHES and acc is None and f1 is None:
            continue
        if approach == "fine_tuned" and off:
            rows.append(f"| {name} | {NOT_AVAILABLE} | {NOT_AVAILABLE} |")
            continue
        shown = model if approach == "fine_tuned" else base
        label = f"{name} (`{shown}`)" if shown else name
        rows.append(f"| {label} | {_accuracy(acc)} | {show(f1, 'score')} |")
    zero, tuned = s.get("zero_shot_accuracy"), s.get("fine_tuned_accuracy")
    if not off and isinstance(zero, (int, float)) and isinstance(tuned, (int, float)):
        zf, tf = s.get("zero_shot_macro_f1"), s.get("fine_tuned_macro_f1")
        f1_change = (f"{tf - zf:+.3f}" if isinstance(zf, (int, float))
                     and isinstance(tf, (int, float)) else "")
        rows.append(f"| Change (fine-tuned − zero-shot) | {tuned - zero:+.3f} | {f1_change} |")
    labels = s.get("labels") or []
    valid = (f" · validation rows: {show(s['n_valid'], 'int')}" if s.get("n_valid") is not None
             else "")
    return [*rows, "",
            f"Train rows: {show(s.get('n_train'), 'int')}{valid} · test rows: "
            f"{show(s.get('n_test'), 'int')} · {len(labels)} labels: "
            f"{', '.join(_cell(x) for x in labels) or MISSING}"]


def _decision(s: dict) -> list[str]:
    """06's table: one row per approach that recorded more than accuracy and F1."""
    extra = [f for f in APPROACH_FIGURES if f not in ("accuracy", "macro_f1")]
    rows = []
    for approach, name in APPROACHES.items():
        values = {f: s.get(approach_key(approach, f)) for f in APPROACH_FIGURES}
        if all(values[f] is None for f in extra):
            continue
        if approach == "fine_tuned" and _fine_tuning_off(s):
            rows.append(f"| {name} |" + f" {NOT_AVAILABLE} |" * len(APPROACH_FIGURES))
            continue
        kinds = {"accuracy": "share", "macro_f1": "score", "prompt_tokens_per_request": "number",
                 "cost_per_1000_usd": "usd", "training_cost_usd": "usd", "latency_s": "seconds"}
        rows.append(f"| {name} | " + " | ".join(show(values[f], kinds[f]) for f in APPROACH_FIGURES)
                    + " |")
    if not rows:
        return []
    head = "| Approach | " + " | ".join(APPROACH_FIGURES.values()) + " |"
    return ["## Choosing an approach (06)", "", head,
            "| --- |" + " --- |" * len(APPROACH_FIGURES), *rows, "",
            "Costs in USD at list prices (— where the model is not priced in USD); latency as "
            "the client measured it.", ""]


def _difference(estimated, billed) -> str:
    if isinstance(estimated, (int, float)) and isinstance(billed, (int, float)) and estimated:
        return f"{(billed - estimated) / estimated:+.1%}"
    return ""


def _tokens_and_cost(s: dict) -> list[str]:
    if _fine_tuning_off(s):
        return ["## Tokens and cost", "", f"Fine-tuning is {NOT_AVAILABLE} "
                f"(`{s.get('backend')}`): no training tokens or cost.", ""]
    est_t, bill_t = s.get("estimated_trained_tokens"), s.get("trained_tokens")
    est_c, bill_c = s.get("estimated_cost_usd"), s.get("billed_cost_usd")
    rows = ["## Tokens and cost", "", "| Figure | Estimated | Billed | Difference |",
            "| --- | ---: | ---: | ---: |",
            f"| Trained tokens | {show(est_t, 'int')} | {show(bill_t, 'int')} | "
            f"{_difference(est_t, bill_t)} |",
            f"| Training cost (USD) | {show(est_c, 'usd')} | {show(bill_c, 'usd')} | "
            f"{_difference(est_c, bill_c)} |"]
    mini = s.get("estimated_cost_usd_gpt_4o_mini")
    if mini is not None:
        rows.append(f"| Same file on gpt-4o-mini (USD) | {show(mini, 'usd')} | | |")
    return [*rows, "", "Estimated: counted from the training file before the job (03, 04). "
            "Billed: the job's `trained_tokens`. — means not recorded or not priced in USD.", ""]


def _preparation(s: dict) -> list[str]:
    prep = s.get("preparation")
    if not prep:
        return []
    lines = ["## Data preparation", "",
             f"{show(prep.get('rows'), 'int')} rows read; preparation keeps "
             f"{show(prep.get('rows_kept'), 'int')} rows in {len(prep.get('labels_kept') or [])} "
             "classes (checked before any notebook ran, with the rules the notebooks apply).", ""]
    drops = prep.get("drops") or []
    if drops:
        lines += ["| Dropped | Rows | Why |", "| --- | ---: | --- |"]
        lines += [f"| {_cell(d['what'])} | {show(d['rows'], 'int')} | {_cell(d['why'])} |"
                  for d in drops]
        if prep.get("file"):
            lines += ["",
                      "Every dropped row, with its line and reason: "
                      f"[{prep['file']}]({prep['file']})."]
    else:
        lines.append("Nothing is dropped.")
    return [*lines, ""]


def _figure_table(title: str, figures, s: dict, note: str = "") -> list[str]:
    present = [f for f in figures if s.get(f.key) is not None]
    if not present:
        return []
    out = [f"## {title}", ""]
    if note:
        out += [note, ""]
    out += ["| Figure | Value |", "| --- | ---: |"]
    out += [f"| {_cell(f.label)} | {_cell(show(s[f.key], f.kind))} |" for f in present]
    return [*out, ""]


def _groups(s: dict) -> list[str]:
    out: list[str] = []
    for group, title in GROUPS.items():
        out += _figure_table(title, [f for f in FIGURES if f.group == group], s)
    for prefix, (title, note) in SIDE_EXPERIMENTS.items():
        out += _figure_table(title, [f for f in SIDE_FIGURES if f.group == prefix], s, note)
    return out


def _timings(s: dict) -> list[str]:
    logs = any(nb.get("log") for nb in s["notebooks"])
    rows = ["## Time per notebook", "",
            "| Notebook | Seconds | Status |" + (" Kernel log |" if logs else ""),
            "| --- | ---: | --- |" + (" --- |" if logs else "")]
    for nb in s["notebooks"]:
        log = f" [log]({nb['log']}) |" if nb.get("log") else (" |" if logs else "")
        rows.append(f"| [{nb['notebook']}]({nb['output']}) | {nb['seconds']:.1f} | "
                    f"{nb['status']} |{log}")
    rows.append(f"| **Total run** | {s['seconds']:.1f} | {s['status']} |" + (" |" if logs else ""))
    return [*rows, ""]


def _not_shown(s: dict) -> list[str]:
    shown = {*REQUIRED, *_RUN_KEYS, *(f.key for f in FIGURES), *(f.key for f in SIDE_FIGURES),
             *(approach_key(a, f) for a in APPROACHES for f in APPROACH_FIGURES)}
    rest = sorted(k for k in s if k not in shown)
    if not rest:
        return []
    return [f"{len(rest)} more figures are kept in [summary.json](summary.json).", ""]


def render_markdown(s: dict) -> str:
    """A report for people: the tables first, then the groups, timings and links."""
    base = f" · base model `{s['base_model']}`" if s.get("base_model") else ""
    head = ["# Course run summary", "",
            f"Dataset `{s.get('dataset')}` · backend `{s.get('backend')}` · mode `{s.get('mode')}`"
            f"{base} · status **{s['status']}** · {s['seconds']:.1f} s in total", ""]
    if s.get("error"):
        err = s["error"]
        head += [f"**Stopped** in [{err['notebook']}]({err['output']}) at {err['where']}: "
                 f"`{err['error']}`", ""]
    body = ["## Before and after fine-tuning", "", *_before_after(s), "", *_decision(s),
            *_tokens_and_cost(s), *_preparation(s), *_groups(s), *_timings(s), *_not_shown(s)]
    return "\n".join(head + body).rstrip("\n") + "\n"


def write_summary(out_dir, summary: dict) -> tuple[Path, Path]:
    """Write ``summary.json`` and ``summary.md`` into ``out_dir``; return both paths.

    Both go through the key redactor (a figure or an error may quote a key; the
    mask keeps JSON valid) and are written whole or not at all.
    """
    out = Path(out_dir)
    json_path, md_path = out / "summary.json", out / "summary.md"
    atomic.write_text(json_path, redact(json.dumps(summary, ensure_ascii=False, indent=2) + "\n"))
    atomic.write_text(md_path, redact(render_markdown(summary)))
    return json_path, md_path
