"""Uploaded and generated files: stored blobs plus their records."""
from __future__ import annotations

from pathlib import Path

from .errors import bad_request, not_found
from .records import FileRecord, now
from .store import Store

PURPOSES = ("fine-tune", "batch", "assistants", "vision", "user_data", "retrieval")


class Files:
    def __init__(self, store: Store):
        self.store = store

    def create(self, filename: str, data: bytes | Path, purpose: str) -> FileRecord:
        if purpose not in PURPOSES:
            raise bad_request(f"'{purpose}' is not one of {list(PURPOSES)} - 'purpose'",
                              param="purpose")
        with self.store.transaction():
            return self.add(filename, data, purpose)

    def add(self, filename: str, data: bytes | Path, purpose: str) -> FileRecord:
        """Store a file (call inside a transaction; also used for results and batch output)."""
        seq = self.store.next_seq("file")
        file_id = "file-" + self.store.hex_id("file", seq)
        if isinstance(data, Path):  # an upload already streamed to disk (sandbox.multipart)
            size = self.store.adopt_blob(file_id, data)  # records its size and sha256
        else:
            size = len(data)
            self.store.write_blob(file_id, data)
        record = FileRecord(id=file_id, bytes=size, created_at=now(), filename=filename,
                            purpose=purpose)
        self.store.put("files", file_id, seq, record.to_row())
        return record

    def get(self, file_id: str, param: str | None = None) -> FileRecord:
        row = self.store.get("files", file_id)
        if row is None:
            raise not_found("file", file_id, param)
        return FileRecord.from_row(row)

    def list(self, purpose: str | None = None) -> list[FileRecord]:
        files = [FileRecord.from_row(r) for r in self.store.all("files")]
        return [f for f in files if purpose in (None, f.purpose)]

    def content(self, file_id: str) -> bytes:
        self.get(file_id)
        return self.store.read_blob(file_id)

    def delete(self, file_id: str) -> dict:
        self.get(file_id)
        with self.store.transaction():
            self.store.mark_deleted("files", file_id)
        return {"id": file_id, "object": "file", "deleted": True}
