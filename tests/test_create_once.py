"""create_once: one create per answer; after a lost answer, look up before sending again."""
import httpx2
import openai
import pytest

from helpers import clients, config
from helpers.jobs import APICallError
from helpers.jobs.once import create_once

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/fine_tuning/jobs")


@pytest.fixture
def client(tmp_path):
    return clients.openai_client(config.resolve(backend="sandbox", mode="live",
                                                sandbox_dir=tmp_path / "sb"))


def _lost():
    return openai.APIConnectionError(request=REQUEST)


def _status(code):
    return openai.APIStatusError(f"HTTP {code}", response=httpx2.Response(
        code, request=REQUEST, json={"error": {"message": "m", "code": None}}), body=None)


def test_a_lost_answer_is_looked_up_and_not_sent_again(client):
    made, sent = [], []

    def create(api):
        assert api.max_retries == 0  # the SDK must not resend it blindly
        sent.append(1)
        made.append("job-1")
        raise _lost()

    found = create_once("Creating", client, create, lambda: made[0] if made else None,
                        sleep=lambda s: None)
    assert found == "job-1" and len(sent) == 1


def test_nothing_made_is_tried_again_then_named(client):
    sent, looked = [], []

    def create(api):
        sent.append(1)
        raise _status(503)

    with pytest.raises(APICallError,
                       match=r"^Creating the batch failed: the API answered HTTP 503"):
        create_once("Creating the batch", client, create, lambda: looked.append(1),
                    attempts=3, sleep=lambda s: None)
    assert len(sent) == 3 and len(looked) == 3


def test_a_refusal_is_raised_at_once_without_a_lookup(client):
    looked = []

    def create(api):
        raise _status(400)

    with pytest.raises(APICallError, match="HTTP 400"):
        create_once("Uploading t.jsonl", client, create, lambda: looked.append(1))
    assert looked == []
