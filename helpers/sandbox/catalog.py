"""The sandbox's own models: one table, the one owner of their ids and abilities.

``GET /v1/models`` lists these before any fine-tuned model; the chat, Responses,
embeddings and fine-tuning code ask ``spec(model_id)`` what a model can do
instead of comparing ids. Fine-tuned models are not here: they live in the
store and always descend from ``sandbox-base``.
"""
from __future__ import annotations

from dataclasses import dataclass

BASE_MODEL = "sandbox-base"
REASONING_MODEL = "sandbox-reasoning"
EMBEDDING_MODEL = "sandbox-embed"
CREATED = 1767225600  # 2026-01-01, fixed so listings do not change between runs


@dataclass(frozen=True)
class ModelSpec:
    id: str
    kind: str                 # "chat", "reasoning" or "embedding"
    fine_tunable: bool
    created: int = CREATED
    owned_by: str = "sandbox"

    @property
    def chat(self) -> bool:
        """Answers chat completions and responses (reasoning models included)."""
        return self.kind in ("chat", "reasoning")

    def record(self) -> dict:
        return {"id": self.id, "object": "model", "created": self.created,
                "owned_by": self.owned_by}


BASE_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(BASE_MODEL, "chat", fine_tunable=True),
    ModelSpec(REASONING_MODEL, "reasoning", fine_tunable=False),
    ModelSpec(EMBEDDING_MODEL, "embedding", fine_tunable=False),
)
_BY_ID = {m.id: m for m in BASE_MODELS}


def spec(model_id: str) -> ModelSpec | None:
    """The base model's spec, or None (a fine-tuned or unknown model id)."""
    return _BY_ID.get(model_id)
