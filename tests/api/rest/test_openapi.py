"""The OpenAPI document is served and describes every API route (clients generate from it)."""

from __future__ import annotations

import httpx


async def test_openapi_document_lists_every_api_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    for expected in (
        "/api/v1/definitions",
        "/api/v1/instances/{instance_id}",
        "/api/v1/instances/{instance_id}/stream",
        "/api/v1/stream",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/audit",
        "/api/v1/me",
    ):
        assert expected in paths, expected
    stream = paths["/api/v1/stream"]["get"]["responses"]
    assert "200" in stream
