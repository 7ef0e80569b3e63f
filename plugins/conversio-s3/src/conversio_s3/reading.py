"""Reading an object as a seekable stream, by ranged GETs, never the whole object at once.

Each GET asks for a window from the current position: 1 MiB first, doubling while the reader
reads on (so a whole object costs a handful of requests), back to 1 MiB after a seek (so reading
a few bytes from the middle of a large object fetches little more than those bytes).
"""

from __future__ import annotations

import io
from typing import Any

from conversio_s3.errors import translating

FIRST_WINDOW = 1 << 20
LAST_WINDOW = 64 << 20


class RangeReader(io.RawIOBase):
    """The object ``key`` of ``size`` bytes in ``bucket``, read by ranges (``artifact_id``: for errors)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, artifact_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._size = size
        self._artifact_id = artifact_id
        self._position = 0
        self._body: Any = None
        self._body_end = 0
        self._window = FIRST_WINDOW

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError("negative seek position")
        if position != self._position:
            self._drop_body()
            self._window = FIRST_WINDOW
            self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not view or self._position >= self._size:
            return 0
        if self._body is None:
            self._open_body()
        wanted = min(len(view), self._body_end - self._position)
        with translating(self._artifact_id):
            data = self._body.read(wanted)
        if not data:  # the object changed under the reader: it is not what the metadata says
            raise OSError(f"the stored file {self._artifact_id!r} ended early")
        view[: len(data)] = data
        self._position += len(data)
        if self._position >= self._body_end:
            self._drop_body()
            self._window = min(self._window * 2, LAST_WINDOW)
        return len(data)

    def start(self) -> int:
        """Send the first GET now (an object that is not there fails here, not at the first read);
        return the object's whole size as the server tells it."""
        response = self._open_body()
        return int(str(response["ContentRange"]).rpartition("/")[2])

    def _open_body(self) -> Any:
        end = min(self._size, self._position + self._window)
        with translating(self._artifact_id):
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-{end - 1}"
            )
        self._body = response["Body"]
        self._body_end = end
        return response

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()
