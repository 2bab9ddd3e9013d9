"""Models: the catalogue's base models, then the fine-tunes this sandbox trained."""
from __future__ import annotations

import threading

from . import catalog
from .classifier import SoftmaxModel
from .errors import ApiError, bad_request
from .records import TunedModel, now
from .store import Store

ORG = "sandbox-org"


def model_not_found(model_id: str) -> ApiError:
    return ApiError(404, f"The model `{model_id}` does not exist or you do not have access to "
                    "it.", code="model_not_found", param="model")


class Models:
    def __init__(self, store: Store):
        self.store = store
        self._loaded: dict[str, SoftmaxModel] = {}
        self._lock = threading.Lock()

    def tuned(self, model_id: str) -> TunedModel | None:
        """A fine-tuned model or checkpoint, or None."""
        row = self.store.get("models", model_id)
        return TunedModel.from_row(row) if row else None

    def register(self, model_id: str, blob: str, job_id: str, hidden: bool) -> None:
        """Record a trained model (call inside the transaction that publishes it)."""
        seq = self.store.next_seq("model")
        record = TunedModel(id=model_id, created=now(), owned_by=ORG, blob=blob, job=job_id,
                            hidden=hidden)
        self.store.put("models", model_id, seq, record.to_row())

    def list(self) -> list[dict]:
        """Every catalogue model, then the listed fine-tunes, oldest first."""
        tuned = [TunedModel.from_row(r) for r in self.store.all("models", newest_first=False)]
        return ([m.record() for m in catalog.BASE_MODELS]
                + [m.public() for m in tuned if not m.hidden])

    def get(self, model_id: str) -> dict:
        spec = catalog.spec(model_id)
        if spec is not None:
            return spec.record()
        record = self.tuned(model_id)
        if record is None:
            raise model_not_found(model_id)
        return record.public()

    def delete(self, model_id: str) -> dict:
        record = self.get(model_id)
        if catalog.spec(model_id) is not None:
            raise ApiError(403, "You have insufficient permissions for this operation: "
                           f"{model_id} is a base model.", code="insufficient_permissions")
        with self.store.transaction():
            self.store.mark_deleted("models", model_id)
        with self._lock:
            self._loaded.pop(model_id, None)
        return record

    def classifier(self, model_id: str) -> SoftmaxModel:
        """The trained classifier behind a fine-tuned model id (loaded once per process)."""
        with self._lock:
            model = self._loaded.get(model_id)
        if model is not None:
            return model
        record = self.tuned(model_id)
        if record is None:
            if catalog.spec(model_id) is not None:
                raise bad_request(f"{model_id} has no trained classifier: it is a base model.",
                                  param="model")
            raise model_not_found(model_id)
        model = SoftmaxModel.from_bytes(self.store.read_blob(record.blob))
        with self._lock:
            self._loaded[model_id] = model
        return model
