"""What differs between the OpenAI and the Zhipu paths, one object per provider.

The operations (files, jobs, batches, chat) are the same; a dialect says how
request bodies are checked (``schemas``), how records look on the wire, how
errors are rendered, how fine-tuned models are named, which fine-tuning requests
are refused with which message, which batch endpoint strings mean which sandbox
endpoint, and what the provider serves (json_schema, tools, the Responses API,
the reasoning model, embeddings' keys and batch size). Modules ask the dialect;
none compares provider names.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import schemas, streaming, views
from .errors import ZHIPU_CODES, ApiError, bad_request
from .records import Job

CHAT_URL = "/v1/chat/completions"
EMBEDDINGS_URL = "/v1/embeddings"
ORG = "sandbox-org"
ZHIPU_ORG_NUMBER = "100001"


@dataclass(frozen=True)
class OpenAIDialect:
    name: str = "openai"
    prefix: str = "/v1"
    # OpenAI is winding fine-tuning down: the training_not_available fault applies here
    fine_tuning_wound_down: bool = True
    # what this provider's paths serve; a request for anything else is refused where it is read
    json_schema_format: bool = True  # response_format json_schema (Zhipu: text, json_object)
    json_mode_needs_word_json: bool = True  # JSON mode's 400 when no message says "json"
    serves_tools: bool = True  # chat ``tools``
    serves_responses: bool = True  # the Responses API
    serves_reasoning_model: bool = True  # sandbox-reasoning
    embedding_keys: frozenset = frozenset({"input", "model", "dimensions", "encoding_format",
                                           "user"})
    max_embedding_inputs: int = 2048  # items in one embeddings request (the service's limit)

    # request bodies, checked against this provider's SDK types
    def chat_body(self, body: dict) -> dict:
        return schemas.openai_chat(body)

    def job_request(self, body: dict) -> schemas.JobRequest:
        return schemas.openai_job(body)

    def batch_body(self, body: dict) -> dict:
        return schemas.batch(body)

    # fine-tuning
    def model_name(self, base: str, suffix: str, short: str) -> str:
        return f"ft:{base}:{ORG}:{suffix}:{short}"

    def not_fine_tunable(self, model: str) -> ApiError:
        return bad_request(f"Model {model} is not available for fine-tuning or does not exist.",
                           param="model", code="model_not_available")

    def unknown_model(self, model: str) -> ApiError:
        return self.not_fine_tunable(model)

    def fine_tunes_fine_tunes(self) -> bool:
        """OpenAI accepts a fine-tuned model as ``model`` to continue training it."""
        return True

    def cannot_continue(self, model: str, base: str) -> ApiError:
        return self.not_fine_tunable(model)

    # batches
    def batch_url(self, url) -> str | None:
        """The sandbox endpoint a batch's ``endpoint`` or line ``url`` names (None: unknown)."""
        return url if isinstance(url, str) and url.startswith("/v1/") else None

    def batch_result(self, url: str, body: dict, request_id: str) -> dict:
        """A batch line's answer as this provider's endpoint answers it (as computed here)."""
        return body

    # the wire
    def render_error(self, exc: ApiError) -> tuple[int, dict]:
        return exc.status, {"error": {"message": exc.message, "type": exc.type,
                                      "param": exc.param, "code": exc.code}}

    def file(self, record) -> dict:
        return views.openai("file", record)

    def job(self, record: Job, request_id: str | None = None) -> dict:
        return views.openai("job", record)

    def event(self, record) -> dict:
        return views.openai("event", record)

    def batch(self, record) -> dict:
        return views.openai("batch", record)

    def page(self, view, records: list, has_more: bool) -> dict:
        return {"object": "list", "data": [view(r) for r in records], "has_more": has_more}

    def chat(self, record: dict, request_id: str) -> dict:
        return views.openai("chat", record)

    def embeddings(self, data: list[dict], model: str, tokens: int, fmt: str) -> dict:
        return views.openai_embeddings(data, model, tokens, fmt)

    def stream(self, reply, body: dict, request_id: str):
        return streaming.openai_events(reply, body)

    def model_deleted(self, model_id: str, request_id: str) -> dict:
        return views.openai("model_deleted", {"id": model_id, "object": "model",
                                              "deleted": True})


@dataclass(frozen=True)
class ZhipuDialect(OpenAIDialect):
    name: str = "zhipu"
    prefix: str = "/api/paas/v4"
    fine_tuning_wound_down: bool = False
    json_schema_format: bool = False
    json_mode_needs_word_json: bool = False
    serves_tools: bool = False
    serves_responses: bool = False
    serves_reasoning_model: bool = False
    embedding_keys: frozenset = OpenAIDialect.embedding_keys | {"request_id",
                                                                "sensitive_word_check"}
    max_embedding_inputs: int = 64

    def chat_body(self, body: dict) -> dict:
        return schemas.zhipu_chat(body)

    def job_request(self, body: dict) -> schemas.JobRequest:
        return schemas.zhipu_job(body)

    def batch_body(self, body: dict) -> dict:
        return schemas.zhipu_batch(body)

    def model_name(self, base: str, suffix: str, short: str) -> str:
        return f"{base}:{ZHIPU_ORG_NUMBER}:{suffix}:{short}"

    def not_fine_tunable(self, model: str) -> ApiError:
        return bad_request(f"模型 {model} 不支持微调 (model {model} cannot be fine-tuned).",
                           param="model", code="model_not_available")

    def unknown_model(self, model: str) -> ApiError:
        return ApiError(400, f"模型不存在: {model}.", code="model_not_found", param="model")

    def fine_tunes_fine_tunes(self) -> bool:
        return False

    def cannot_continue(self, model: str, base: str) -> ApiError:
        return bad_request(f"Model {model} cannot be fine-tuned again: on the Zhipu paths the "
                           f"sandbox fine-tunes {base} only.", param="model",
                           code="model_not_available")

    def batch_url(self, url) -> str | None:
        """BigModel's docs write /v4/...; zhipuai's types say /v1/...: both mean the same."""
        if isinstance(url, str) and url.startswith("/v4/"):
            url = "/v1/" + url[len("/v4/"):]
        return super().batch_url(url)

    def batch_result(self, url: str, body: dict, request_id: str) -> dict:
        return self.chat(body, request_id) if url == CHAT_URL else body

    def render_error(self, exc: ApiError) -> tuple[int, dict]:
        code = ZHIPU_CODES.get(exc.code) or ZHIPU_CODES.get(exc.status) or "1214"
        status = 400 if exc.code == "model_not_found" else exc.status  # Zhipu: 400 + 1211
        return status, {"error": {"code": code, "message": exc.message}}

    def file(self, record) -> dict:
        return views.zhipu_file(record)

    def job(self, record: Job, request_id: str | None = None) -> dict:
        return views.zhipu_job(record, request_id)

    def event(self, record) -> dict:
        return views.zhipu_event(record)

    def batch(self, record) -> dict:
        return views.zhipu_batch(record)

    def chat(self, record: dict, request_id: str) -> dict:
        return views.zhipu_chat(record, request_id)

    def embeddings(self, data: list[dict], model: str, tokens: int, fmt: str) -> dict:
        return views.zhipu_embeddings(data, model, tokens)

    def stream(self, reply, body: dict, request_id: str):
        return streaming.zhipu_events(reply, request_id)

    def model_deleted(self, model_id: str, request_id: str) -> dict:
        return views.zhipu_model_deleted(model_id, request_id)


OPENAI = OpenAIDialect()
ZHIPU = ZhipuDialect()
DIALECTS = {d.name: d for d in (OPENAI, ZHIPU)}


def get(provider: str):
    return DIALECTS[provider]


def for_path(path: str):
    """The dialect whose prefix a request path starts with (OpenAI otherwise)."""
    return ZHIPU if path.startswith(ZHIPU.prefix) else OPENAI
