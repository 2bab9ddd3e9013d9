"""Everything the course takes from vcrpy, and the only module that imports it.

vcrpy gives the cassette format (``version: 1``, interactions of a request
and a response with ``status``/``headers``/``body.string``), its ``Request``
model and the conversion between httpx(2) responses and that format. The
course does not let vcrpy patch any HTTP library: its own transport
(``transport``) calls the functions below for the clients it creates.

Two of them are private to vcrpy (``PRIVATE_ATTRIBUTES``): the httpx stub's
response conversions, used so a response is stored and rebuilt exactly as the
committed cassettes (recorded through vcrpy's stubs) expect.
``tests/test_recording_vcrpy.py`` fails when the installed vcrpy is not
``VCRPY_VERSION`` or one of them is gone: re-check this module before
changing the pin in requirements.txt.
"""
from __future__ import annotations

import copy

from vcr import serialize as _serialize
from vcr.filters import decode_response
from vcr.request import Request
from vcr.stubs import httpx_stubs as _httpx_stubs

VCRPY_VERSION = "9.4.2"
# (module, attribute) pairs this adapter relies on that vcrpy does not promise to keep
PRIVATE_ATTRIBUTES = (("vcr.stubs.httpx_stubs", "_serialize_response"),
                      ("vcr.stubs.httpx_stubs", "_deserialize_response"))

__all__ = ["Request", "VCRPY_VERSION", "PRIVATE_ATTRIBUTES", "make_request", "response_data",
           "decoded", "httpx_response", "to_plain", "from_plain"]


def make_request(method: str, url: str, body: bytes, headers) -> Request:
    """vcrpy's model of one request (headers as given; ``scrubbing`` trims them)."""
    return Request(method, url, body, dict(headers))


def response_data(response, content: bytes) -> dict:
    """A received httpx/httpx2 response as cassette data (status, headers as lists, body)."""
    return _httpx_stubs._serialize_response(response, content)


def decoded(data: dict) -> dict:
    """A copy of cassette response data with gzip/deflate/br bodies decompressed."""
    return decode_response(copy.deepcopy(data))


def httpx_response(data: dict, lib):
    """A ``lib.Response`` (``lib`` is the httpx or httpx2 module) built from cassette data."""
    return _httpx_stubs._deserialize_response(data, lib)


class _AsIs:
    """A vcrpy serializer that hands the data through (``serialising`` owns the text format)."""

    @staticmethod
    def serialize(data):
        return data

    @staticmethod
    def deserialize(data):
        return data


def to_plain(interactions) -> dict:
    """``{"version", "interactions"}`` with bodies as str where vcrpy writes them so."""
    return _serialize.serialize({"requests": [r for r, _ in interactions],
                                 "responses": [copy.deepcopy(s) for _, s in interactions]}, _AsIs)


def from_plain(data: dict) -> list[tuple[Request, dict]]:
    """The interactions in plain cassette data, as vcrpy reads them (response bodies as bytes)."""
    requests, responses, *_ = _serialize.deserialize(data, _AsIs)
    return list(zip(requests, responses, strict=True))
