"""Records -> JSON exactly as each SDK parses it, built through the SDKs' own types."""
from __future__ import annotations

from openai.types import (
    Batch,
    CreateEmbeddingResponse,
    FileDeleted,
    FileObject,
    Model,
    ModelDeleted,
)
from openai.types.chat import ChatCompletion
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint
from zhipuai.types.batch import Batch as ZhipuBatch
from zhipuai.types.chat.chat_completion import Completion as ZhipuCompletion
from zhipuai.types.embeddings import EmbeddingsResponded
from zhipuai.types.files.file_object import FileObject as ZhipuFile
from zhipuai.types.fine_tuning.fine_tuning_job import FineTuningJob as ZhipuJob
from zhipuai.types.fine_tuning.fine_tuning_job_event import JobEvent as ZhipuEvent
from zhipuai.types.fine_tuning.models import FineTunedModelsStatus

from .records import Job, public


def _dump(model_type, record) -> dict:
    body = public(record)
    status = body.get("status")
    if status == "paused":  # newer than the SDK's status list: checked as the status it left
        body["status"] = getattr(record, "paused_from", None) or "running"
    out = model_type.model_validate(body).model_dump(mode="json")
    if status == "paused":
        out["status"] = status
    return out


OPENAI_TYPES = {"file": FileObject, "job": FineTuningJob, "event": FineTuningJobEvent,
                "checkpoint": FineTuningJobCheckpoint, "model": Model, "chat": ChatCompletion,
                "batch": Batch, "file_deleted": FileDeleted, "model_deleted": ModelDeleted}


def openai(kind: str, record) -> dict:
    return _dump(OPENAI_TYPES[kind], record)


def openai_page(kind: str, records: list, has_more: bool = False) -> dict:
    return {"object": "list", "data": [openai(kind, r) for r in records], "has_more": has_more}


def openai_embeddings(data: list[dict], model: str, tokens: int, fmt: str) -> dict:
    record = {"object": "list", "data": data, "model": model,
              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    if fmt == "base64":  # the SDK type says list[float]; the wire carries the base64 string
        CreateEmbeddingResponse.model_validate({**record, "data": [
            {**d, "embedding": []} for d in data]})
        return record
    return CreateEmbeddingResponse.model_validate(record).model_dump(mode="json")


def zhipu_file(record) -> dict:
    return _dump(ZhipuFile, record)


def zhipu_job(record: Job, request_id: str | None = None) -> dict:
    body = public(record)
    body["request_id"] = request_id or record.request_id  # Zhipu echoes the caller's
    body["hyperparameters"] = {"n_epochs": body["hyperparameters"].get("n_epochs")}
    return ZhipuJob.model_validate(body).model_dump(mode="json")


def zhipu_batch(record) -> dict:
    return _dump(ZhipuBatch, record)


def zhipu_event(record) -> dict:
    body = dict(public(record))
    d = body.get("data") or {}
    if body.get("type") == "metrics":
        body["data"] = {"epoch": d.get("epoch"), "current_steps": d.get("step"),
                        "total_steps": d.get("total_steps"), "loss": d.get("train_loss"),
                        "eval_loss": d.get("valid_loss"), "acc": d.get("train_mean_token_accuracy"),
                        "eval_acc": d.get("valid_mean_token_accuracy"),
                        "learning_rate": d.get("learning_rate_multiplier")}
    else:
        body["data"] = None
    return ZhipuEvent.model_validate(body).model_dump(mode="json")


def zhipu_chat(record: dict, request_id: str) -> dict:
    """Zhipu's completion shape; logprobs (which the course asks for) are kept when asked."""
    body = public(record)
    choices = []
    for c in body["choices"]:
        choice = {"index": c["index"], "finish_reason": c["finish_reason"],
                  "message": {"role": "assistant", "content": c["message"]["content"]}}
        if c.get("logprobs"):
            choice["logprobs"] = {"content": c["logprobs"]["content"]}
        choices.append(choice)
    return ZhipuCompletion.model_validate({
        "id": body["id"], "request_id": request_id, "created": body["created"],
        "model": body["model"], "usage": body["usage"],
        "choices": choices}).model_dump(mode="json", exclude_none=True)


def zhipu_embeddings(data: list[dict], model: str, tokens: int) -> dict:
    usage = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}
    record = {"object": "list", "data": data, "model": model, "usage": usage}
    return EmbeddingsResponded.model_validate(record).model_dump(mode="json")


def zhipu_model_deleted(model_id: str, request_id: str) -> dict:
    return FineTunedModelsStatus(request_id=request_id, model_name=model_id,
                                 delete_status="deleted").model_dump(mode="json")
