"""What a notebook needs from the notebooks before it, rebuilt quietly if missing.

Each notebook starts with ``run = pipeline.start("01_zero_shot", **parameters)``.
The same dataset, label names, splits and training files come out of these
functions in every notebook, so notebook 06 can run on its own: if 02's splits
or 04's job are not in the work directory yet, it makes them here (through
``helpers.data`` and ``helpers.jobs``) instead of redefining anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import clients, config, data, jobs, lifecycle, manifest, prices, prompts
from .results import record_results

# One base model per backend for zero-shot AND fine-tuning, so before/after compares one base.
# The dated reasons live with the prices (``prices.default_note``); compatible: the learner
# names it.
# OpenAI has no fine-tuning default (its self-serve fine-tuning ends): its base is the chat default.
DEFAULT_BASE_MODELS = {
    backend: prices.default_model(backend, "chat" if backend in prices.FINE_TUNING_ENDED
                                  else "fine-tune")
    for backend in ("sandbox", "openai", "zhipu")}
MIN_CLASS_ROWS = 20  # classes with fewer rows are dropped before splitting (news_stock has 12)
VALID_SHARE = 0.1
MAX_TEST_SHARE = 0.3


@dataclass
class Run:
    """One notebook's settings: backend, mode, work directory and the course parameters."""

    notebook: str
    settings: config.Settings
    work_dir: Path
    dataset: str = "news_zh"
    text_field: str | None = None
    label_field: str | None = None
    label_map: str | None = None
    base_model: str = "sandbox-base"
    n_train: int = 800
    n_test: int = 200
    epochs: int | str = 3
    seed: int = 42
    extra: dict = field(default_factory=dict)

    def client(self, sdk: str | None = None, **kw):
        """The SDK client for this notebook, recording to / replaying from its cassette."""
        return clients.client(self.settings, sdk=sdk, cassette=self.notebook, **kw)

    def path(self, *parts: str) -> Path:
        out = self.work_dir.joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    def record(self, **values) -> None:
        """Report figures for ``summary.json`` (see ``helpers.course``)."""
        record_results(self.work_dir, self.notebook[:2], **values)

    def describe(self) -> str:
        return (f"backend={self.settings.backend} mode={self.settings.mode} "
                f"dataset={self.dataset} base_model={self.base_model}")


def default_base_model(backend: str) -> str:
    """The course's base model for ``backend``; a ``compatible`` server has none: the learner
    names it."""
    model = DEFAULT_BASE_MODELS.get(backend)
    if not model:
        raise ValueError(f"BACKEND={backend!r} has no default model: set BASE_MODEL in the "
                         "parameters cell (or --base-model for the course run) to the name of a "
                         "model your server serves")
    return model


def start(notebook: str, *, dataset: str = "news_zh", text_field: str | None = None,
          label_field: str | None = None, label_map: str | None = None,
          backend: str | None = None, mode: str | None = None, base_model: str | None = None,
          n_train: int = 800, n_test: int = 200, epochs: int | str = 3, seed: int = 42,
          work_dir: str | None = None, **extra) -> Run:
    """Resolve settings (parameters win over COURSE_* variables) and the work directory."""
    settings = config.resolve(backend=backend, mode=mode)
    run = Run(notebook=notebook, settings=settings, work_dir=config.work_dir(settings, work_dir),
              dataset=dataset, text_field=text_field, label_field=label_field,
              label_map=label_map, base_model=base_model or default_base_model(settings.backend),
              n_train=int(n_train), n_test=int(n_test), epochs=epochs, seed=int(seed), extra=extra)
    # Printed, not warnings.warn: a warning's text carries this file's absolute path.
    status = lifecycle.check_model(run.base_model, "fine-tune", warn=False)
    if status.warning:
        print(f"Note on BASE_MODEL: {status.message}")
    return run


# ---------------------------------------------------------------- the dataset

@dataclass
class CourseData:
    """The dataset as the model sees it: ``text`` and ``label`` (the label's display name)."""

    frame: pd.DataFrame
    labels: list[str]
    lang: str
    dropped: dict                  # classes dropped as too small: {label: rows}
    raw: pd.DataFrame
    plan: object = None            # helpers.data.preparation_plan: every dropped row and why


def read_rows(dataset: str, text_field: str | None = None, label_field: str | None = None,
              label_map: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The raw rows (``text``, ``label`` plus the file's columns) and the label map.

    ``dataset`` is a shipped name or a file; the course runner's pre-check reads
    a dataset through here too.
    """
    if dataset in data.NAMES and not Path(dataset).exists():
        df, ds = data.load_named(dataset)
        mapping = dict(ds.label_map)
    else:
        df = data.load_records(dataset, text_field or "text", label_field or "label")
        mapping = {}
    if label_map:
        mapping = data.read_label_map(label_map)
    return df, mapping


def read_dataset(run: Run) -> tuple[pd.DataFrame, dict]:
    """The run's raw rows and label map (see ``read_rows``)."""
    return read_rows(run.dataset, run.text_field, run.label_field, run.label_map)


def preparation(raw: pd.DataFrame, min_class_rows: int = MIN_CLASS_ROWS):
    """What preparation drops from ``raw`` and why (``helpers.data.preparation_plan``).

    The one rule set: every notebook's ``load_data`` and the course runner's
    pre-check call this, so the run announces exactly the classes 01 keeps.
    """
    return data.preparation_plan(raw, min_class_rows)


def load_data(run: Run, min_class_rows: int = MIN_CLASS_ROWS) -> CourseData:
    """Dataset with display names, prepared by ``preparation`` (the same in every notebook)."""
    # One pass per run: the runner's pre-check stored this plan in the work directory.
    raw, plan = data.load_prepared(run.dataset, run.text_field, run.label_field, min_class_rows,
                                   work_dir=run.work_dir)
    mapping = data.label_mapping(run.dataset, run.label_map)
    if not plan.ok:
        raise ValueError(f"{run.dataset}: {plan.message}")
    kept = plan.kept
    frame = data.apply_label_map(kept, mapping) if mapping else kept.copy()
    labels = [mapping.get(k, k) for k in sorted(kept["label"].unique())] if mapping else \
        sorted(frame["label"].unique())
    return CourseData(frame=frame[["text", "label"]], labels=labels,
                      lang=prompts.detect_language(frame["text"].tolist()),
                      dropped=dict(plan.rare_classes), raw=raw, plan=plan)


# ---------------------------------------------------------------- splits

@dataclass
class Splits:
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    labels: list[str]
    lang: str


def _manifest(run: Run) -> dict:
    return {"dataset": str(run.dataset), "text_field": run.text_field,
            "label_field": run.label_field,
            "label_map": run.label_map, "n_train": run.n_train, "n_test": run.n_test,
            "seed": run.seed, "min_class_rows": MIN_CLASS_ROWS,
            "preparation": list(data.plan.RULES)}  # splits made under other rules are remade


def make_splits(course_data: CourseData, n_train: int, n_test: int, seed: int) -> Splits:
    """Stratified train/valid/test by seed; test has ``n_test`` rows (at most 30%)."""
    df = course_data.frame
    test_share = min(n_test, int(len(df) * MAX_TEST_SHARE)) / len(df)
    train, valid, test = data.split(df, seed=seed, valid_size=VALID_SHARE, test_size=test_share)
    if len(train) > n_train:
        from sklearn.model_selection import train_test_split

        train, _ = train_test_split(train, train_size=n_train, random_state=seed,
                                    stratify=train["label"])
    return Splits(train, valid, test, course_data.labels, course_data.lang)


SPLIT_FILES = tuple(f"{name}.jsonl" for name in ("train", "valid", "test"))


def splits(run: Run, course_data: CourseData | None = None, *, save: bool = True) -> Splits:
    """The run's splits from ``work_dir/data/`` (made by 02), or made now if missing.

    Reused only when ``manifest.json`` was made for the same parameters and every
    split still has the size and SHA-256 it records; otherwise (a file cut by a
    kill or a full disk, edited, or missing) the splits are made again from the
    dataset, and a line names the file.
    """
    folder = run.work_dir / "data"
    found, why = manifest.read(folder)
    if found is not None and found.params == _manifest(run):
        problems = found.problems(folder, SPLIT_FILES)
        if not problems:
            parts = {name: pd.read_json(folder / f"{name}.jsonl", lines=True, dtype=False)
                     for name in ("train", "valid", "test")}
            return Splits(**parts, labels=found.labels, lang=found.lang)
        print(f"{problems[0]}; the splits are made again from the dataset.")
    elif found is None and why and (folder / manifest.MANIFEST_NAME).exists():
        print(f"{why}; the splits are made again from the dataset.")
    result = make_splits(course_data or load_data(run), run.n_train, run.n_test, run.seed)
    if save:
        save_splits(run, result)
    return result


def _write_listed(run: Run, s: Splits, written: dict[str, bytes], *, keep: bool = True) -> None:
    """Write each changed file atomically, then the manifest listing them (last).

    ``keep=False`` forgets the other files the manifest listed (made from older splits).
    """
    folder = run.work_dir / "data"
    found, _ = manifest.read(folder)
    same = keep and found is not None and found.params == _manifest(run) and \
        (found.labels, found.lang) == (list(s.labels), s.lang)
    files = dict(found.files) if same else {}
    for name, content in written.items():
        manifest.write_if_changed(folder / name, content)
        files[name] = manifest.FileEntry.of(content)
    manifest.write(folder, manifest.Manifest(_manifest(run), list(s.labels), s.lang, files))


def save_splits(run: Run, s: Splits) -> Path:
    """The splits as JSON lines in ``work_dir/data/``, listed in ``manifest.json``.

    Splits that differ from the listed ones drop the manifest's other entries: the
    training files made from the old splits are made again by ``training_files``.
    """
    folder = run.work_dir / "data"
    written = {f"{name}.jsonl": manifest.jsonl_bytes(
        getattr(s, name)[["text", "label"]].to_dict("records"))
        for name in ("train", "valid", "test")}
    found, _ = manifest.read(folder)
    unchanged = found is not None and all(
        found.files.get(name) == manifest.FileEntry.of(content)
        for name, content in written.items())
    _write_listed(run, s, written, keep=unchanged)
    return folder


# ---------------------------------------------------------------- training files and jobs

def training_files(run: Run, s: Splits, *, order: str = "shuffled") -> tuple[Path, Path]:
    """Chat JSONL for training and validation; ``order`` is 'shuffled' or 'by_label'.

    A file already holding exactly these bytes is left alone (a job submission may
    be reading it); a changed one is replaced atomically and listed in the manifest.
    """
    train = data.shuffle(s.train, run.seed) if order == "shuffled" else data.order_by_label(s.train)
    names = (f"train_chat_{order}.jsonl", "valid_chat.jsonl")
    written = {name: manifest.jsonl_bytes(data.chat_rows(frame, labels=s.labels, lang=s.lang))
               for name, frame in zip(names, (train, s.valid), strict=True)}
    _write_listed(run, s, written)
    return run.work_dir / "data" / names[0], run.work_dir / "data" / names[1]


def cost_limit(run: Run) -> float | None:
    """The ``max_cost_usd`` the notebooks submit with.

    ``jobs.DEFAULT_MAX_COST_USD`` wherever the price is known. Zhipu's fine-tuning
    prices are not confirmed, so no estimate can be compared with a limit: choosing
    ``BACKEND="zhipu"`` with a key is taken as the learner's explicit go-ahead
    (``None``), and a sentence says so. A ``max_cost_usd`` given to ``start`` wins.
    """
    if "max_cost_usd" in run.extra:
        return run.extra["max_cost_usd"]
    if run.settings.backend == "zhipu" and run.settings.mode != "replay":
        print("Zhipu's fine-tuning price is not confirmed, so no cost limit can be checked; "
              f"a budget of {token_limit(run):,} billed tokens guards the job instead "
              "(max_trained_tokens); see bigmodel.cn's pricing before you run this cell.")
        return None
    return jobs.DEFAULT_MAX_COST_USD


def token_limit(run: Run) -> int | None:
    """The ``max_trained_tokens`` the notebooks submit with: where no training price is
    published (Zhipu) a token budget guards the run, ``jobs.DEFAULT_MAX_TRAINED_TOKENS``
    unless ``start(..., max_trained_tokens=N)`` (None: no token budget) says otherwise.
    Elsewhere the money limit (``cost_limit``) is the guard and this is None."""
    if "max_trained_tokens" in run.extra:
        return run.extra["max_trained_tokens"]
    if run.settings.backend == "zhipu":
        return jobs.DEFAULT_MAX_TRAINED_TOKENS
    return None


def fine_tune(run: Run, client, s: Splits, *, epochs=None, order: str = "shuffled",
              suffix: str | None = None, quiet: bool = False):
    """Submit (or attach to) the fine-tuning job for these splits and wait for it.

    Returns ``(record, job)``: the job store's record and the finished SDK job.
    """
    train_path, valid_path = training_files(run, s, order=order)
    record = jobs.submit(client, train_path, validation_file=valid_path, model=run.base_model,
                         settings=run.settings, work_dir=run.work_dir,
                         n_epochs=epochs if epochs is not None else run.epochs,
                         suffix=suffix or "course", seed=run.seed, max_cost_usd=cost_limit(run),
                         max_trained_tokens=token_limit(run), verbose=not quiet)
    job = jobs.wait(client, record, settings=run.settings, progress=not quiet)
    return record, job
