"""Embeddings (``sandbox-embed``) through the official OpenAI and Zhipu SDKs."""
import base64

import numpy as np
import openai
import pytest
from sandbox_batches import finished_batch, output_rows
from zhipuai.core._errors import APIRequestFailedError

from helpers import clients, config
from helpers.sandbox import embeddings
from helpers.sandbox.catalog import EMBEDDING_MODEL

SPORTS = "The Yankees beat the Red Sox 5-3 in extra innings"
BASEBALL = "Red Sox pitcher throws a shutout against the Yankees"
MONEY = "Central bank raises interest rates as inflation climbs"


@pytest.fixture
def client(settings):
    # Not strict: the SDK asks for base64 by default and decodes it after validation, which
    # strict response validation (list[float]) would refuse, on any server.
    return clients.openai_client(settings, max_retries=0)


def test_vectors_are_deterministic_unit_length_and_close_for_shared_words(client, settings):
    r = client.embeddings.create(model=EMBEDDING_MODEL, input=[SPORTS, BASEBALL, MONEY])
    assert [d.index for d in r.data] == [0, 1, 2] and r.model == EMBEDDING_MODEL
    v = np.array([d.embedding for d in r.data])
    assert v.shape == (3, embeddings.DEFAULT_DIMENSIONS)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
    # Another sandbox directory (another instance) gives the very same vector.
    other = config.resolve(backend="sandbox", mode="live",
                           sandbox_dir=settings.sandbox_dir.parent / "other")
    again = clients.openai_client(other, max_retries=0).embeddings.create(
        model=EMBEDDING_MODEL, input=SPORTS)
    assert again.data[0].embedding == r.data[0].embedding
    tokens = client.embeddings.create(model=EMBEDDING_MODEL, input=SPORTS).usage
    assert tokens.prompt_tokens == tokens.total_tokens == len(
        embeddings_encoding().encode(SPORTS))


def embeddings_encoding():
    from helpers.sandbox.catalog import BASE_MODEL
    from helpers.tokens import encoding_for
    return encoding_for(BASE_MODEL)


def test_dimensions_and_base64_decode_to_the_float_vector(client):
    short = client.embeddings.create(model=EMBEDDING_MODEL, input=[MONEY], dimensions=256)
    assert len(short.data[0].embedding) == 256
    assert abs(np.linalg.norm(short.data[0].embedding) - 1) < 1e-5
    floats = client.embeddings.create(model=EMBEDDING_MODEL, input=MONEY, encoding_format="float")
    # Without encoding_format the SDK asks for base64 and decodes it (little-endian float32).
    decoded = client.embeddings.create(model=EMBEDDING_MODEL, input=MONEY)
    raw = client.embeddings.with_raw_response.create(model=EMBEDDING_MODEL, input=MONEY,
                                                     encoding_format="base64")
    wire = raw.http_response.json()["data"][0]["embedding"]
    assert isinstance(wire, str)
    mine = np.frombuffer(base64.b64decode(wire), dtype="<f4")
    assert np.array_equal(mine, np.asarray(floats.data[0].embedding, dtype=np.float32))
    assert decoded.data[0].embedding == floats.data[0].embedding


def test_token_array_inputs_embed_their_decoded_text(client):
    ids = embeddings_encoding().encode(SPORTS)
    by_text = client.embeddings.create(model=EMBEDDING_MODEL, input=SPORTS).data[0].embedding
    one = client.embeddings.create(model=EMBEDDING_MODEL, input=ids)
    many = client.embeddings.create(model=EMBEDDING_MODEL, input=[ids, ids])
    assert one.data[0].embedding == by_text and len(many.data) == 2


@pytest.mark.parametrize("kw, param, words", [
    (dict(model="nope"), "model", "does not exist"),
    (dict(model="sandbox-base"), "model", "does not support embeddings"),
    (dict(input=[]), "input", "empty array"),
    (dict(input=["ok", ""]), "input[1]", "empty string"),
    (dict(input=["x"] * 2049), "input", "at most 2048"),
    (dict(input="word " * 9000), "input", "maximum context length"),
    (dict(dimensions=0), "dimensions", "between 1 and"),
    (dict(dimensions=3073), "dimensions", "between 1 and"),
    (dict(encoding_format="int8"), "encoding_format", "'float' or 'base64'"),
    (dict(input=[[10**9]]), "input[0]", "not in the model's vocabulary"),
])
def test_bad_requests_are_400_or_404_naming_the_parameter(client, kw, param, words):
    args = {"model": EMBEDDING_MODEL, "input": SPORTS, **kw}
    with pytest.raises(openai.APIStatusError) as err:
        client.embeddings.create(**args)
    assert err.value.status_code == (404 if kw.get("model") == "nope" else 400)
    assert err.value.body["param"] == param and words in err.value.message
    if "maximum context length" in words:
        assert err.value.body["code"] == "context_length_exceeded"


def test_zhipu_embeddings_create(settings):
    z = clients.zhipu_client(settings, max_retries=0)
    r = z.embeddings.create(model=EMBEDDING_MODEL, input=["国足主场绝杀卫冕冠军", "央行宣布降息"],
                            dimensions=512)
    assert [len(d.embedding) for d in r.data] == [512, 512]
    assert r.usage.total_tokens == r.usage.prompt_tokens > 0 and r.usage.completion_tokens == 0
    o = clients.openai_client(settings, max_retries=0).embeddings.create(
        model=EMBEDDING_MODEL, input="国足主场绝杀卫冕冠军", dimensions=512)
    assert np.allclose(r.data[0].embedding, o.data[0].embedding)
    with pytest.raises(APIRequestFailedError) as err:
        z.embeddings.create(model=EMBEDDING_MODEL, input=["a"] * 65)
    assert err.value.response.status_code == 400
    assert set(err.value.response.json()["error"]) == {"code", "message"}


def test_batch_runner_entry_point_answers_the_same_record(settings):
    from helpers.sandbox import app_for
    sandbox = app_for(settings.sandbox_dir).core
    record = embeddings.create(sandbox, {"model": EMBEDDING_MODEL, "input": [SPORTS]})
    assert record["object"] == "list" and len(record["data"][0]["embedding"]) == 3072


def test_a_batch_on_v1_embeddings_gives_the_vectors_embeddings_create_gives(client):
    import json as _json

    texts = {"e1": "the team won the game", "e2": "股市今天大涨"}
    lines = "".join(_json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/embeddings",
                                 "body": {"model": "sandbox-embed", "input": text,
                                          "dimensions": 16, "encoding_format": "float"}},
                                ensure_ascii=False) + "\n" for cid, text in texts.items())
    batch = finished_batch(client, lines.encode(), "/v1/embeddings", name="e.jsonl")
    assert batch.status == "completed" and batch.request_counts.completed == 2
    rows = output_rows(client, batch)
    got = {r["custom_id"]: r["response"]["body"]["data"][0]["embedding"] for r in rows}
    want = {cid: client.embeddings.create(model="sandbox-embed", input=text, dimensions=16,
                                          encoding_format="float").data[0].embedding
            for cid, text in texts.items()}
    assert got == want and len(got["e1"]) == 16
