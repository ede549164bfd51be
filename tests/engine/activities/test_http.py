"""wfe.http against a real HTTP server on 127.0.0.1 (plus one injected MockTransport).

The server is on loopback, which the egress policy refuses by default: these tests allow-list
127.0.0.1 explicitly (the policy itself is tested in test_egress.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError

from tests.engine.activities.http_server import running_http_server
from tests.temporal_fixtures import free_port
from workflow_engine.engine.activities.egress import EgressPolicy, parse_rule
from workflow_engine.engine.activities.http import (
    INVALID_INPUT,
    HttpActivities,
    from_engine_input,
    parse_http_request,
)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, dict[str, int]]]:
    with running_http_server() as running:
        yield running


@pytest.fixture
def base(server: tuple[str, dict[str, int]]) -> str:
    return server[0]


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpActivities]:
    activities = HttpActivities(
        policy=EgressPolicy(allow=[parse_rule("127.0.0.1")]), max_response_bytes=10_000
    )
    try:
        yield activities
    finally:
        await activities.aclose()


async def test_get_json_with_query_and_headers(http: HttpActivities, base: str) -> None:
    result = await http.http(
        {
            "url": f"{base}/echo/users/u-1?fixed=1",
            "query": {"page": 2, "tag": ["a", "b"], "skip": None, "flag": True},
            "headers": {"Authorization": "Bearer t", "X-Count": 3, "X-None": None},
        }
    )
    assert result["status"] == 200
    assert result["headers"]["x-echo"] == "yes"
    assert result["headers"]["content-type"] == "application/json"
    body = result["body"]
    assert body["method"] == "GET"
    assert body["path"] == "/echo/users/u-1"
    assert body["query"] == {"fixed": ["1"], "page": ["2"], "tag": ["a", "b"], "flag": ["true"]}
    assert body["headers"]["authorization"] == "Bearer t"
    assert body["headers"]["x-count"] == "3"
    assert "x-none" not in body["headers"]
    assert body["headers"]["user-agent"] == "workflow-engine"


async def test_post_json_body(http: HttpActivities, base: str) -> None:
    result = await http.http(
        {"method": "post", "url": f"{base}/echo", "body": {"name": "Ann", "tags": [1, 2]}}
    )
    body = result["body"]
    assert body["method"] == "POST"
    assert body["headers"]["content-type"] == "application/json"
    assert json.loads(body["body"]) == {"name": "Ann", "tags": [1, 2]}


async def test_text_body_and_form_body(http: HttpActivities, base: str) -> None:
    text = await http.http({"method": "PUT", "url": f"{base}/echo", "body": "hello"})
    assert text["body"]["headers"]["content-type"] == "text/plain; charset=utf-8"
    assert text["body"]["body"] == "hello"
    form = await http.http(
        {
            "method": "POST",
            "url": f"{base}/echo",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "body": {"a": "1 2", "b": True},
        }
    )
    assert form["body"]["body"] == "a=1+2&b=true"


async def test_text_response_uses_its_charset(http: HttpActivities, base: str) -> None:
    result = await http.http({"url": f"{base}/text"})
    assert result == {
        "status": 200,
        "headers": result["headers"],
        "body": "plain text é",
    }


async def test_empty_bad_json_problem_json_and_head(http: HttpActivities, base: str) -> None:
    assert (await http.http({"url": f"{base}/empty"}))["body"] is None
    assert (await http.http({"url": f"{base}/badjson"}))["body"] == "not json{"
    assert (await http.http({"url": f"{base}/problem"}))["body"] == {"title": "x"}
    head = await http.http({"method": "HEAD", "url": f"{base}/echo"})
    assert head["status"] == 200
    assert head["body"] is None


async def test_redirects_are_followed_unless_disabled(http: HttpActivities, base: str) -> None:
    followed = await http.http({"url": f"{base}/redirect"})
    assert followed["body"]["path"] == "/echo/redirected"
    kept = await http.http({"url": f"{base}/redirect", "follow_redirects": False})
    assert kept["status"] == 302
    assert kept["headers"]["location"] == "/echo/redirected"


async def test_4xx_is_a_non_retryable_typed_error(http: HttpActivities, base: str) -> None:
    with pytest.raises(ApplicationError) as info:
        await http.http({"url": f"{base}/status/404"})
    error = info.value
    assert error.type == "HTTP_404"
    assert error.non_retryable
    assert "answered 404" in error.message
    assert "status 404" in error.message
    detail: Any = error.details[0]
    assert detail["status"] == 404
    assert detail["body"] == {"error": "status 404"}


async def test_5xx_408_429_are_retryable(http: HttpActivities, base: str) -> None:
    for status in (500, 503, 408, 429):
        with pytest.raises(ApplicationError) as info:
            await http.http({"url": f"{base}/status/{status}"})
        assert info.value.type == f"HTTP_{status}"
        assert not info.value.non_retryable
    with pytest.raises(ApplicationError) as info:
        await http.http({"url": f"{base}/status/503?retry_after=7"})
    assert info.value.next_retry_delay == timedelta(seconds=7)


async def test_expected_status(http: HttpActivities, base: str) -> None:
    result = await http.http({"url": f"{base}/status/404", "expected_status": [200, 404]})
    assert result["status"] == 404
    assert result["body"] == {"error": "status 404"}
    single = await http.http({"url": f"{base}/status/409", "expected_status": "409"})
    assert single["status"] == 409
    with pytest.raises(ApplicationError) as info:
        await http.http({"url": f"{base}/echo", "expected_status": 201})
    assert info.value.type == "HTTP_200"
    assert info.value.non_retryable
    assert "expected 201" in info.value.message


async def test_timeout_is_retryable(http: HttpActivities, base: str) -> None:
    with pytest.raises(ApplicationError) as info:
        await http.http({"url": f"{base}/slow?seconds=2", "timeout_seconds": 0.3})
    assert info.value.type == "HTTP_TIMEOUT"
    assert not info.value.non_retryable
    assert "timed out" in info.value.message


async def test_connection_refused_is_retryable(http: HttpActivities) -> None:
    with pytest.raises(ApplicationError) as info:
        await http.http({"url": f"http://127.0.0.1:{free_port()}/x", "timeout_seconds": 5})
    assert info.value.type == "HTTP_CONNECTION_ERROR"
    assert not info.value.non_retryable
    assert "ConnectError" in info.value.message


async def test_response_size_limit(http: HttpActivities, base: str) -> None:
    ok = await http.http({"url": f"{base}/big?n=10000"})
    assert len(ok["body"]) == 10_000
    with pytest.raises(ApplicationError) as info:
        await http.http({"url": f"{base}/big?n=10001"})
    assert info.value.type == "HTTP_RESPONSE_TOO_LARGE"
    assert info.value.non_retryable


@pytest.mark.parametrize(
    ("request_input", "fragment"),
    [
        ([], "input must be an object"),
        ({}, "'url' is required"),
        ({"url": "ftp://x/y"}, "absolute http:// or https://"),
        ({"url": "/relative"}, "absolute http"),
        ({"url": "http://x", "method": "FETCH"}, "'method' must be one of"),
        ({"url": "http://x", "headers": []}, "'headers' must be an object"),
        ({"url": "http://x", "headers": {"A": {"b": 1}}}, "'headers.A' must be text"),
        ({"url": "http://x", "headers": {"A": "x\r\nB: y"}}, "line breaks"),
        ({"url": "http://x", "query": "a=1"}, "'query' must be an object"),
        ({"url": "http://x", "timeout_seconds": 0}, "'timeout_seconds' must be a positive"),
        ({"url": "http://x", "timeout_seconds": True}, "'timeout_seconds'"),
        ({"url": "http://x", "expected_status": [99]}, "'expected_status'"),
        ({"url": "http://x", "expected_status": []}, "'expected_status' must not be empty"),
        ({"url": "http://x", "follow_redirects": "yes"}, "'follow_redirects'"),
    ],
)
def test_invalid_input_names_the_field(request_input: Any, fragment: str) -> None:
    with pytest.raises(ApplicationError) as info:
        parse_http_request(request_input)
    assert info.value.type == INVALID_INPUT
    assert info.value.non_retryable
    assert fragment.replace("must not be empty", "must not be an empty") in info.value.message


async def test_form_body_must_be_an_object(http: HttpActivities, base: str) -> None:
    with pytest.raises(ApplicationError) as info:
        await http.http(
            {
                "method": "POST",
                "url": f"{base}/echo",
                "headers": {"content-type": "application/x-www-form-urlencoded"},
                "body": [1],
            }
        )
    assert info.value.type == INVALID_INPUT


async def test_injected_transport_receives_the_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": 9})

    activities = HttpActivities(transport=httpx.MockTransport(handler))
    try:
        result = await activities.http(
            # A public address: the policy checks it, then the injected transport takes over.
            {"method": "POST", "url": "https://93.184.215.14/users", "body": {"n": 1}}
        )
    finally:
        await activities.aclose()
    assert result["status"] == 201
    assert result["body"] == {"id": 9}
    assert seen[0].url == "https://93.184.215.14/users"
    assert json.loads(seen[0].content) == {"n": 1}


def test_max_response_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        HttpActivities(max_response_bytes=0)


async def test_engine_form_renders_the_config_templates(http: HttpActivities, base: str) -> None:
    result = await http.http(
        {
            "user_id": "u 7",
            "token": "t0k",
            "_config": {
                "implementation": "http",
                "method": "POST",
                "url": base + "/echo/users/${user_id}",
                "headers": {"Authorization": "Bearer ${token}"},
                "body": {"id": "${user_id}", "n": "${size(user_id)}"},
            },
        }
    )
    body = result["body"]
    assert body["path"] == "/echo/users/u%207"
    assert body["headers"]["authorization"] == "Bearer t0k"
    assert json.loads(body["body"]) == {"id": "u 7", "n": 3}


def test_engine_form_template_errors_are_invalid_input() -> None:
    with pytest.raises(ApplicationError) as info:
        from_engine_input({"_config": {"url": "http://x/${missing}"}})
    assert info.value.type == INVALID_INPUT
    assert "url" in info.value.message
    assert "missing" in info.value.message
    with pytest.raises(ApplicationError):
        from_engine_input({"_config": "nope"})
    assert from_engine_input({"url": "http://x"}) == {"url": "http://x"}
