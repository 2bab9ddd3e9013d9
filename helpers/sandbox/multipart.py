"""multipart/form-data uploads, streamed to disk with the ``multipart`` package's push parser.

The body is read from the WSGI input in fixed-size chunks and the file part is
written straight to a temporary file beside the blob store, so memory stays at
a few chunks whatever the file's size. The size limit is checked while reading.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from .errors import ApiError
from .store import temp_name

CHUNK = 64 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 16


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    size: int = 0

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _chunks(stream, length: int | None):
    """The body in CHUNK-sized reads: ``length`` bytes, or to EOF when it is None."""
    left = length
    while left is None or left > 0:
        data = stream.read(CHUNK if left is None else min(CHUNK, left))
        if not data:
            if left:
                raise ApiError(400, f"The request body ended {left} bytes before its "
                               "Content-Length.", param="file")
            return
        if left is not None:
            left -= len(data)
        yield data


def parse_upload(content_type: str, stream, length: int | None, tmp_dir: Path,
                 max_file_bytes: int) -> Upload:
    """Form fields and the one file part (saved under ``tmp_dir``) of an upload."""
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise ApiError(400, "Files must be uploaded as multipart/form-data with a boundary.",
                       param="file")
    upload, out, current, buffer = Upload(), None, None, bytearray()
    try:
        parser = PushMultipartParser(options["boundary"], content_length=length or -1,
                                     max_segment_count=MAX_PARTS)
        with parser:
            for chunk in _chunks(stream, length):
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        current, buffer = event, bytearray()
                        if event.filename is not None:
                            if event.name != "file" or upload.path is not None:
                                raise ApiError(400, f"Unexpected file part {event.name!r}: "
                                               "send one file, in the field 'file'.",
                                               param=event.name)
                            upload.filename = event.filename
                            upload.path = tmp_dir / temp_name("upload")
                            out = open(upload.path, "wb")  # noqa: SIM115  (closed at the part's end)
                    elif event is None:
                        if out is not None and current.filename is not None:
                            out.close()
                            out = None
                        elif current.name:
                            upload.fields[current.name] = bytes(buffer).decode(
                                current.charset or "utf-8")
                    elif current.filename is not None:
                        upload.size += len(event)
                        if upload.size > max_file_bytes:
                            raise ApiError(413, f"The file is larger than the upload limit of "
                                           f"{max_file_bytes} bytes.", param="file",
                                           code="file_too_large")
                        out.write(event)
                    else:
                        buffer += event
                        if len(buffer) > MAX_FIELD_BYTES:
                            raise ApiError(400, f"The form field {current.name!r} is longer "
                                           f"than {MAX_FIELD_BYTES} bytes.", param=current.name)
    except MultipartError as exc:
        upload.discard()
        if any(isinstance(arg, UnicodeDecodeError) for arg in exc.args):
            raise ApiError(400, "A part header of the upload (its name or filename) is not "
                           "valid UTF-8.", param="file", code="invalid_unicode") from None
        raise ApiError(400, f"Could not parse the upload: {exc}", param="file") from None
    except (UnicodeDecodeError, LookupError):  # bytes not in the part's charset, or no such charset
        upload.discard()
        raise ApiError(400, f"The form field {current.name!r} is not valid text in its charset "
                       f"({current.charset or 'utf-8'}).",
                       param=current.name, code="invalid_unicode") from None
    except BaseException:
        upload.discard()
        raise
    finally:
        if out is not None:
            out.close()
    if upload.path is None:
        raise ApiError(400, "Missing required parameter: 'file'.", param="file",
                       code="missing_required_parameter")
    return upload
