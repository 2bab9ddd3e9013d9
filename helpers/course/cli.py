"""Command line: ``python -m helpers.course run --dataset PATH ...``."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import config
from .progress import HEARTBEAT_SECONDS
from .runner import NOTEBOOKS_DIR, RunOptions, run_course


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"must be between 0 and 60 seconds, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m helpers.course",
                                description="Run the course notebooks on a dataset.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="validate a dataset, then execute the numbered notebooks")
    run.add_argument("--dataset", required=True,
                     help="news_zh, sports_en, reviews_en, or a JSON / JSON-lines / CSV file")
    run.add_argument("--text-field", help="field holding the text (default: text)")
    run.add_argument("--label-field", help="field holding the label (default: label)")
    run.add_argument("--backend", choices=config.BACKENDS,
                     help="default: COURSE_BACKEND or sandbox")
    run.add_argument("--mode", choices=config.MODES, help="default: COURSE_MODE or live")
    run.add_argument("--base-url",
                     help="compatible backend: the server's OpenAI-compatible base URL, e.g. "
                          "http://localhost:11434/v1 (default: COURSE_BASE_URL); the key, if the "
                          "server needs one, only from COURSE_API_KEY")
    run.add_argument("--out", type=Path, default=None,
                     help="where executed notebooks and summaries go (default: runs/<backend>)")
    run.add_argument("--base-model", help="the model zero-shot uses and fine-tuning starts from "
                                          "(required for the compatible backend)")
    run.add_argument("--n-train", type=_positive)
    run.add_argument("--n-test", type=_positive)
    run.add_argument("--epochs", type=_positive)
    run.add_argument("--seed", type=int)
    run.add_argument("--label-map", type=Path, help='JSON file {"raw label": "display name"}')
    run.add_argument("--notebooks", help="comma-separated numbers to run, e.g. 01,02,04")
    run.add_argument("--heartbeat", type=_seconds, default=HEARTBEAT_SECONDS,
                     help=f"seconds between progress lines while a cell runs (default "
                          f"{HEARTBEAT_SECONDS:g})")
    run.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    out = args.out
    if out is None:
        try:
            out = Path("runs") / (args.backend or config.resolve().backend)
        except config.ConfigError:
            out = Path("runs") / "course"  # run_course reports the bad setting
    opts = RunOptions(
        dataset=args.dataset, text_field=args.text_field, label_field=args.label_field,
        backend=args.backend, mode=args.mode, out=out, base_model=args.base_model,
        n_train=args.n_train, n_test=args.n_test, epochs=args.epochs, seed=args.seed,
        label_map=args.label_map,
        notebooks=args.notebooks.split(",") if args.notebooks else None,
        notebooks_dir=args.notebooks_dir, base_url=args.base_url, heartbeat=args.heartbeat)
    return run_course(opts)
