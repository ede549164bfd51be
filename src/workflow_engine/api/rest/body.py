"""Reading request bodies with a size limit, before anything parses them."""

from __future__ import annotations

from fastapi import Request

from workflow_engine.services.errors import PayloadTooLargeError


async def read_limited_body(request: Request, *, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes without buffering the excess.

    Raises:
        PayloadTooLargeError: when Content-Length or the streamed body exceeds the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is {declared} bytes; at most {limit} are allowed")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
