"""The parsed records of a checked file, spooled to a temporary file so the
apply pass writes exactly what the validation pass checked."""

from __future__ import annotations

import marshal
import tempfile
from collections.abc import Iterator

from app.rms.formats import (
    RECORDS,
    TIME_FIELDS,
    Record,
    record_from_plain,
    record_to_plain,
)

SPOOL_CHUNK = 10_000


class Spool:
    """The parsed records of one file, marshalled in chunks to a temporary
    file, so that the apply pass writes exactly what was checked without
    reading and parsing the CSV a second time."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.cls = RECORDS[file_name]
        self.times = TIME_FIELDS[file_name]
        self.handle = tempfile.TemporaryFile(prefix="vigil-import-")
        self.buffer: list[tuple[object, ...]] = []
        self.count = 0

    def add(self, record: Record) -> None:
        self.buffer.append(record_to_plain(record, self.times))
        self.count += 1
        if len(self.buffer) >= SPOOL_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            data = marshal.dumps(self.buffer)
            self.handle.write(len(data).to_bytes(8, "little"))
            self.handle.write(data)
            self.buffer = []

    def records(self) -> Iterator[Record]:
        self._flush()
        self.handle.seek(0)
        while size := int.from_bytes(self.handle.read(8), "little"):
            chunk = marshal.loads(self.handle.read(size))
            for values in chunk:
                yield record_from_plain(self.cls, values, self.times)

    def close(self) -> None:
        self.buffer = []
        self.handle.close()
