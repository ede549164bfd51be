"""A 500 never breaks the keep-alive connection (issue 15, finding 8).

Starlette's last-resort handler re-raised the exception after sending the 500, and uvicorn
closes the connection of a request whose app raised: the client's next request on the same
connection failed with ECONNRESET.
"""

from __future__ import annotations

import httpx

from tests.api.rest.served import served
from workflow_engine.api.rest.app import create_app
from workflow_engine.services.container import Services


class _UnexpectedError(RuntimeError):
    pass


async def test_the_connection_survives_a_500(services: Services) -> None:
    app = create_app(services)

    @app.get("/api/v1/test-unexpected")
    async def unexpected() -> None:
        raise _UnexpectedError("a bug in a service")

    async with served(app) as base:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, limits=limits) as client:
            for _ in range(2):
                failed = await client.get("/api/v1/test-unexpected")
                assert failed.status_code == 500
                assert failed.json()["error"]["code"] == "INTERNAL"
                assert failed.headers.get("connection", "").lower() != "close"
                port = _local_port(failed)
                after = await client.get("/api/v1/me")
                assert after.status_code == 200, after.text
                # The same connection (same local port) answered: the server kept it open.
                assert _local_port(after) == port


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    port: int = stream.get_extra_info("client_addr")[1]
    return port
