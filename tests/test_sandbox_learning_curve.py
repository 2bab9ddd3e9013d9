"""A fine-tune learns like a real one from its first step, and a diverging one fails.

Issue 19: with too large a step the validation accuracy of a fine-tune fell
from the base model's to chance in its first few hundred steps (notebook 05's
"learning rate too high" curve). On a shipped dataset and the course's split,
the first epoch's validation accuracy now stays at or above zero-shot and the
training loss falls from the start; a loss that stops being finite raises
``TrainingFailed``; the API refuses a learning rate multiplier outside its
documented range.
"""
import httpx2
import numpy as np
import openai
import pytest

from helpers.data import load_named, prepare
from helpers.sandbox import app_for, classifier, schemas, synthetic, training
from helpers.sandbox.errors import TrainingFailed
from helpers.sandbox.validation import Example


def _split(name: str):
    df, spec = load_named(name)
    df = df.assign(label=df["label"].map(lambda x: spec.label_map.get(x, x)))
    return prepare.split(df, seed=42)


def _zero_shot(train, test) -> float:
    base = classifier.SoftmaxModel.from_base(sorted(set(train["label"])))
    probs = base.predict_proba(test["text"])
    return float((np.array(base.classes)[probs.argmax(axis=1)] == test["label"].to_numpy()).mean())


def _three_epochs(train, valid):
    hp = training.resolve_hyperparameters({"n_epochs": 3}, len(train))
    _, steps = classifier.train(train["text"], train["label"], n_epochs=3,
                                batch_size=hp["batch_size"], learning_rate_multiplier=1.0, seed=0,
                                valid_texts=valid["text"], valid_labels=valid["label"])
    return steps


@pytest.mark.parametrize("name", ["news_zh", "reviews_en"])
def test_the_first_epoch_never_falls_below_zero_shot(name):
    train, valid, test = _split(name)
    zero_shot = _zero_shot(train, test)
    steps = _three_epochs(train, valid)
    first = [s.valid_accuracy for s in steps if s.epoch == 1]
    assert np.mean(first) >= zero_shot
    # no early collapse: no tenth of the first epoch averages far below zero-shot
    tenths = [np.mean(part) for part in np.array_split(first, 10)]
    assert min(tenths) >= zero_shot - 0.1, tenths


@pytest.mark.parametrize("name", ["news_zh", "reviews_en"])
def test_the_training_loss_falls_from_the_start(name):
    train, valid, _ = _split(name)
    losses = np.array([s.train_loss for s in _three_epochs(train, valid)])
    tenth = len(losses) // 10
    means = [losses[i * tenth:(i + 1) * tenth].mean() for i in range(10)]
    assert means[0] > means[4] > means[9]
    assert means[1] < means[0]  # already falling in the second tenth, no rise after warm-up


def test_a_loss_that_is_not_finite_raises_training_failed():
    pairs = synthetic.headlines(60, seed=1, labels=["体育", "财经"])
    examples = [Example(t, lab, 10) for t, lab in pairs]
    hp = {"n_epochs": 1, "batch_size": 2, "learning_rate_multiplier": 1e308}  # past the bound
    with pytest.raises(TrainingFailed, match="loss is nan") as caught:
        training.run(examples, [], hp, seed=0)
    assert caught.value.code == "training_failed"
    assert caught.value.param == "learning_rate_multiplier"


@pytest.mark.parametrize("path, where", [
    ("/v1/fine_tuning/jobs", "method.supervised.hyperparameters.learning_rate_multiplier"),
    ("/v1/fine_tuning/jobs#deprecated", "hyperparameters.learning_rate_multiplier"),
])
@pytest.mark.parametrize("value", [schemas.MAX_LEARNING_RATE_MULTIPLIER * 1.5, 0.0, 1e308])
def test_a_learning_rate_multiplier_out_of_range_is_a_400(tmp_path, path, where, value):
    app = app_for(tmp_path, progression="instant")
    http = httpx2.Client(transport=httpx2.WSGITransport(app=app))
    client = openai.OpenAI(api_key="sk-test", base_url="http://sandbox.local/v1",
                           max_retries=0, http_client=http)
    f = client.files.create(file=("t.jsonl", synthetic.chat_jsonl(
        synthetic.headlines(20, seed=1, labels=["体育", "财经"]), ["体育", "财经"])),
        purpose="fine-tune")
    hp = {"learning_rate_multiplier": value}
    body = {"model": "sandbox-base", "training_file": f.id}
    if path.endswith("#deprecated"):
        body["hyperparameters"] = hp
    else:
        body["method"] = {"type": "supervised", "supervised": {"hyperparameters": hp}}
    reply = http.post("http://sandbox.local/v1/fine_tuning/jobs", json=body,
                      headers={"Authorization": "Bearer sk-test"})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["param"] == where and error["type"] == "invalid_request_error"
    assert f"at most {schemas.MAX_LEARNING_RATE_MULTIPLIER:g}" in error["message"]
    assert client.fine_tuning.jobs.list().data == []  # nothing was created
