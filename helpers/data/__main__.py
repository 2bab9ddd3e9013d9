"""Command line: ``python -m helpers.data validate PATH`` and ``python -m helpers.data describe``.

validate exits 0 when the file is clean, 1 when it has findings (one
``PATH:LINE: code: message`` line each, then a count line), 2 on usage errors
or a file that cannot be read. A data problem's line ends with what happens to
the row (``[data problem: preparation drops this row]``); the count line says
how many findings are errors (fix the file) and how many are data problems.
"""
from __future__ import annotations

import argparse
import sys

from .dedup import near_duplicate_pairs
from .load import NAMES, load_named, spec
from .sources import NotReadable
from .validate import DEFAULT_MODEL, KINDS, validate_file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.data")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a data file; one line per problem")
    v.add_argument("path")
    v.add_argument("--kind", choices=KINDS, help="chat, legacy or table (default: inferred)")
    v.add_argument("--text-field", default="text")
    v.add_argument("--label-field", default="label")
    v.add_argument("--labels", nargs="+",
                   help="allowed labels, one per argument (quote a label that has spaces or "
                        "commas: --labels \"Business, Finance\" Sports)")
    v.add_argument("--model", default=DEFAULT_MODEL,
                   help="model whose example-length limit applies")
    v.add_argument("--min-examples", type=int, default=None,
                   help="fewest usable examples (default: 10 for chat and legacy, off for tables)")
    v.add_argument("--min-class-rows", type=int, default=None,
                   help="tables: report classes with fewer rows (what preparation drops)")
    d = sub.add_parser("describe", help="rows per class of the shipped datasets (Markdown)")
    d.add_argument("names", nargs="*", default=list(NAMES))
    return parser


def _validate(args) -> int:
    labels = None
    if args.labels:
        labels = [x.strip() for x in args.labels if x.strip()]  # a label may contain commas
    try:
        _, report = validate_file(args.path, args.kind, text_field=args.text_field,
                                  label_field=args.label_field, labels=labels, model=args.model,
                                  min_examples=args.min_examples,
                                  min_class_rows=args.min_class_rows)
    except NotReadable as err:
        print(f"{args.path}: cannot read: it is {err.what}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{args.path}: cannot read: {err.strerror or err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"{args.path}: {err}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(report.annotated(problem))
    print(report.summary())
    return 0 if report.ok else 1


def describe(names=NAMES) -> str:
    """Markdown: rows per class and near-duplicate pairs of each shipped dataset."""
    out = []
    for name in names:
        ds = spec(name)
        if not ds.path.is_file():
            out.append(f"#### {name}\n\n`{ds.path.name}` is missing.\n")
            continue
        df, _ = load_named(name)
        counts = df["label"].value_counts().sort_index()
        pairs = near_duplicate_pairs(df["text"])
        rows = [f"| {label} | {ds.label_map.get(label, '?')} | {n} |"
                for label, n in counts.items()]
        out.append("\n".join([
            f"#### {name}", "",
            f"`{ds.path.name}`: {len(df)} rows, {len(counts)} classes, text field "
            f"`{ds.text_field}`, label field `{ds.label_field}`, "
            f"{len(pairs)} near-duplicate pairs (char-3-gram Jaccard >= 0.8).", "",
            "| label | name | rows |", "|---|---|---:|", *rows, ""]))
    return "\n".join(out)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        return _validate(args)
    print(describe(args.names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
