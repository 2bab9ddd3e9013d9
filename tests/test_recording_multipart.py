"""The recorder reads uploads with the ``multipart`` package, as the sandbox does."""
import hashlib
from types import SimpleNamespace

import pytest

from helpers.recording import canonical_body, multipart_summary

CTYPE = "multipart/form-data; boundary={}"


def _body(boundary: str, content: bytes, purpose: str = "fine-tune") -> bytes:
    b = boundary.encode()
    return (b"--" + b + b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'
            + purpose.encode() + b"\r\n--" + b
            + b'\r\nContent-Disposition: form-data; name="file"; filename="train.jsonl"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--" + b + b"--\r\n")


def _request(boundary: str, body: bytes):
    return SimpleNamespace(body=body, headers={"Content-Type": CTYPE.format(boundary)})


def test_fields_and_file_are_summarised_by_name_value_size_and_hash():
    content = '{"messages": [{"role": "user", "content": "体育"}]}\n'.encode()
    assert multipart_summary(_body("b1", content), CTYPE.format("b1")) == [
        {"name": "file", "filename": "train.jsonl", "bytes": len(content),
         "sha256": hashlib.sha256(content).hexdigest(), "head": content.decode()},
        {"name": "purpose", "value": "fine-tune"}]


def test_the_boundary_is_ignored_and_the_content_is_not():
    same = canonical_body(_request("aaa", _body("aaa", b"x\n")))
    assert same == canonical_body(_request("zzz", _body("zzz", b"x\n")))
    assert same[0] == "multipart"
    assert same != canonical_body(_request("aaa", _body("aaa", b"y\n")))
    assert same != canonical_body(_request("aaa", _body("aaa", b"x\n", purpose="batch")))


def test_a_body_that_is_not_multipart_is_compared_by_its_bytes_not_crashed_on():
    broken = b"--aaa\r\nno headers end here"
    with pytest.raises(ValueError, match="not a well-formed multipart body"):
        multipart_summary(broken, CTYPE.format("aaa"))
    assert canonical_body(_request("aaa", broken)) == (
        "bytes", hashlib.sha256(broken).hexdigest())
    with pytest.raises(ValueError, match="without a boundary"):
        multipart_summary(broken, "multipart/form-data")
