"""SDK errors reach the learner as one sentence, with no key in it."""
import json
import traceback

import httpx
import httpx2
import openai
import pytest
import zhipuai

from helpers import clients, config, jobs
from helpers.jobs import errors, sdk
from helpers.sandbox import Faults
from helpers.secrets import redact

# Fake keys are assembled at run time so secret scanners do not flag this file.
OPENAI_KEY = "sk-" + "proj-PLANTEDfakeKEY0123456789abcdef"
ZHIPU_KEY = "0123456789abcdef" * 2 + ".PlantedSecret42xy"


def _echo_key(request):
    """A server that puts the caller's Authorization header into its error text."""
    auth = request.headers.get("authorization", "")
    body = {"error": {"message": f"Incorrect API key provided: {auth} ({OPENAI_KEY})",
                      "code": "invalid_api_key", "type": "invalid_request_error"}}
    return (401, json.dumps(body).encode())


def _openai_echo():
    def handler(request):
        status, content = _echo_key(request)
        return httpx2.Response(status, content=content)
    transport = httpx2.MockTransport(handler)
    return openai.OpenAI(api_key=OPENAI_KEY, base_url="http://api.test/v1", max_retries=0,
                         http_client=httpx2.Client(transport=transport))


def _zhipu_echo():
    def handler(request):
        status, content = _echo_key(request)
        return httpx.Response(status, content=content.replace(OPENAI_KEY.encode(),
                                                              ZHIPU_KEY.encode()))
    return zhipuai.ZhipuAI(api_key=ZHIPU_KEY, base_url="http://api.test/api/paas/v4",
                           max_retries=0, http_client=httpx.Client(
                               transport=httpx.MockTransport(handler)))


def _assert_clean(err, key):
    text = str(err)
    shown = "".join(traceback.format_exception(err))
    assert key not in text and key not in shown
    assert key.split(".")[-1] not in shown  # not even the secret half
    assert "\n" not in text and text.startswith("Reading job ftjob-x failed")
    assert err.__suppress_context__  # the SDK's exception (with the request) is not printed


@pytest.mark.parametrize("make, key", [(_openai_echo, OPENAI_KEY), (_zhipu_echo, ZHIPU_KEY)])
def test_echoed_key_never_reaches_the_learner(make, key):
    client = make()
    with pytest.raises(errors.SDK_ERRORS) as raw:  # the SDK itself does echo the key
        client.fine_tuning.jobs.retrieve(fine_tuning_job_id="ftjob-x")
    assert key in str(raw.value)
    with pytest.raises(jobs.APICallError) as info:
        sdk.retrieve(client, "ftjob-x")
    _assert_clean(info.value, key)
    assert info.value.status == 401 and "check the API key" in str(info.value)


def test_training_not_available_also_without_a_key_leak(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path)
    client = clients.openai_client(settings, faults=Faults(training_not_available=True))
    client = client.with_options(api_key=OPENAI_KEY)
    with pytest.raises(jobs.TrainingNotAvailableError) as info:
        sdk.create_job(client, model="sandbox-base", training_file="file-x",
                       validation_file=None, hyper={}, suffix=None, seed=None, metadata=None,
                       key="k" * 64, attempt=1)
    assert OPENAI_KEY not in "".join(traceback.format_exception(info.value))
    assert info.value.status == 403 and info.value.code == "training_not_available"


@pytest.mark.parametrize("make", [clients.openai_client, clients.zhipu_client])
def test_server_errors_and_rate_limits_are_one_sentence(tmp_path, make):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path)
    for faults, status in ((Faults(rate_500=1.0), 500), (Faults(rate_429=1.0), 429)):
        client = make(settings, faults=faults, max_retries=0)
        with pytest.raises(jobs.APICallError) as info:
            jobs.list_jobs(client)
        assert info.value.status == status and "\n" not in str(info.value)
        assert str(info.value).startswith("Listing fine-tuning jobs failed: the API answered "
                                          f"HTTP {status}")


def test_unreachable_api():
    def refuse(request):
        raise httpx2.ConnectError("connection refused", request=request)
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url="http://api.test/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(refuse)))
    with pytest.raises(jobs.APICallError, match="could not be reached"):
        sdk.retrieve(client, "ftjob-x")


def test_redact_patterns():
    assert redact(f"key {OPENAI_KEY} end") == "key [redacted] end"
    assert redact(f"k={ZHIPU_KEY}") == "k=[redacted]"
    assert redact("tok eyJhbGciOi.eyJzdWIi.sig-_x") == "tok [redacted]"
    assert redact("custom-secret-value", ["custom-secret-value"]) == "[redacted]"


def test_zhipu_model_not_found_code_becomes_not_found_error():
    import httpx
    from zhipuai.core._errors import APIRequestFailedError

    from helpers.jobs import errors

    response = httpx.Response(400, json={"error": {"code": "1211", "message": "模型不存在"}},
                              request=httpx.Request("DELETE", "http://z/api/paas/v4/x"))
    err = errors.translate(APIRequestFailedError(message="模型不存在", response=response),
                           "Deleting model m")
    assert isinstance(err, errors.NotFoundError) and "1211" in str(err)
