"""Uploaded workbook files in the JetStream object store, keyed by their SHA-256.

Any replica of any service reads them from there; there is no shared disk.
"""

from __future__ import annotations

from typing import IO

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore

from calcwire.messaging import WORKBOOKS_BUCKET

__all__ = ["FileMissing", "WorkbookFiles"]


class FileMissing(Exception):
    """The stored file a model refers to is not in the object store."""


class WorkbookFiles:
    """The ``calcwire-workbooks`` bucket."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, js: JetStreamContext) -> WorkbookFiles:
        return cls(await js.object_store(WORKBOOKS_BUCKET))

    async def exists(self, sha256: str) -> bool:
        try:
            info = await self._store.get_info(sha256)
        except nats.js.errors.ObjectNotFoundError:
            return False
        return not info.deleted

    async def put(self, sha256: str, data: IO[bytes]) -> None:
        """Store ``data`` (read from its start, in chunks) under ``sha256``."""
        data.seek(0)
        await self._store.put(sha256, data)  # type: ignore[arg-type]

    async def download(self, sha256: str, into: IO[bytes]) -> None:
        """Write the file's bytes into ``into``; raises :class:`FileMissing`."""
        try:
            await self._store.get(sha256, writeinto=into)  # type: ignore[arg-type]
        except nats.js.errors.ObjectNotFoundError:
            raise FileMissing(f"the uploaded file {sha256} is no longer stored") from None

    async def delete(self, sha256: str) -> None:
        try:
            await self._store.delete(sha256)
        except nats.js.errors.ObjectNotFoundError:
            pass
