"""Input at the REST edge (issue 15, findings 7 and 8): values no store can hold are a 400
naming their path, never stored altered, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from workflow_engine.services.container import Services

JSON = {"content-type": "application/json"}
HUGE = "9" * 4300

#: (JSON text of a variable's value, the message fragment)
BAD_NUMBERS = [
    ("NaN", "NaN is not a JSON number"),
    ("Infinity", "Infinity is not a JSON number"),
    ("-Infinity", "-Infinity is not a JSON number"),
    ("1e400", "too large for a double"),
    ("-1e400", "too large for a double"),
    ("18446744073709551616", "outside the 64-bit range"),  # 2^64
    ("9223372036854775808", "outside the 64-bit range"),  # 2^63
    ("-9223372036854775809", "outside the 64-bit range"),
    (HUGE, "(4300 digits) is outside the 64-bit range"),
]


def _error(response: httpx.Response, path: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["details"][0]["path"] == path, error
    message: str = error["details"][0]["message"]
    return message


def _variables_body(value_text: str) -> str:
    return _with(
        '{"definition_key": "userRegistration", "variables": {"v": {"list": [1, X]}}}', value_text
    )


def _with(template: str, text: str) -> str:
    return template.replace("X", text)


@pytest.mark.parametrize(("value", "fragment"), BAD_NUMBERS)
async def test_bad_numbers_are_refused_with_their_path(
    client: httpx.AsyncClient, value: str, fragment: str
) -> None:
    variables = _with('"variables": {"v": {"list": [1, X]}}', value)
    bodies = {
        ("POST", "/api/v1/instances"): _variables_body(value),
        ("PUT", "/api/v1/instances/some-id/variables"): "{" + variables + "}",
        ("POST", "/api/v1/tasks/some-id/complete"): "{" + variables + "}",
        ("POST", "/api/v1/signals"): '{"name": "s", ' + variables + "}",
        ("POST", "/api/v1/messages"): '{"name": "m", "business_key": "b", ' + variables + "}",
    }
    for (method, url), body in bodies.items():
        response = await client.request(method, url, content=body, headers=JSON)
        assert fragment in _error(response, "body.variables.v.list[1]"), (method, url)


async def test_definition_deploy_refuses_bad_numbers(
    client: httpx.AsyncClient, seed_bytes: bytes
) -> None:
    document = json.loads(seed_bytes)
    document["process"]["priority_hint"] = float("nan")
    text = json.dumps(document)  # Python writes NaN
    response = await client.post("/api/v1/definitions", content=text, headers=JSON)
    assert "NaN is not a JSON number" in _error(response, "body.process.priority_hint")
    listed = await client.get("/api/v1/definitions")
    assert listed.json()["items"] == []


async def test_in_range_numbers_pass_the_edge(client: httpx.AsyncClient) -> None:
    # 2^63 - 1, -2^63 and a large finite double are fine: the route answers (404: no such key).
    body = _variables_body("9223372036854775807, -9223372036854775808, 1.7e308")
    response = await client.post("/api/v1/instances", content=body, headers=JSON)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("a\\u0000b", "NUL character"), ("\\ud800", "lone UTF-16 surrogate")],
)
async def test_nul_and_lone_surrogates_in_bodies_are_refused(
    client: httpx.AsyncClient, text: str, fragment: str
) -> None:
    value = await client.post("/api/v1/signals", content=_with('{"name": "X"}', text), headers=JSON)
    assert fragment in _error(value, "body.name")
    key = await client.post(
        "/api/v1/signals", content=_with('{"name": "s", "variables": {"X": 1}}', text), headers=JSON
    )
    assert fragment in _error(key, "body.variables")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/api/v1/instances?business_key=a%00b", "query.business_key"),
        ("/api/v1/instances?business_key=%ED%A0%80", "query"),
        ("/api/v1/definitions/key/a%00b", "path"),
    ],
)
async def test_nul_and_non_utf8_in_urls_are_refused(
    client: httpx.AsyncClient, url: str, path: str
) -> None:
    _error(await client.get(url), path)


async def test_nothing_altered_is_stored_through_the_services(services: Services) -> None:
    # The gRPC twins reach the services without the REST edge: the payload check names it too.
    from workflow_engine.services.errors import InvalidArgumentError

    for value in (float("nan"), float("inf"), 2**64, "a\x00"):
        with pytest.raises(InvalidArgumentError) as caught:
            services.instances._limits.check({"v": {"list": [1, value]}})
        assert caught.value.details[0].path == "variables.v.list[1]"


def test_the_definition_parser_names_unstorable_values() -> None:
    # gRPC deploys and `wfe validate` parse definitions here, without the REST edge.
    from workflow_engine.model.parser.document import parse_json_text

    model, issues = parse_json_text('{"process": {"key": "k", "n": 1e400}}')
    assert model is None
    assert [(i.path, i.code) for i in issues] == [("process.n", "INVALID_JSON")]
    assert "too large for a double" in issues[0].message


BIG = "9223372036854775808"  # 2^63: one more than BIGINT holds

#: Request shapes that reached the database (or the UTC conversion) and answered 500.
OUT_OF_RANGE = [
    ("GET", f"/api/v1/definitions/{BIG}", "path.definition_id"),
    ("GET", f"/api/v1/definitions/-{BIG}0", "path.definition_id"),
    ("POST", f"/api/v1/definitions/{BIG}/suspend", "path.definition_id"),
    ("DELETE", f"/api/v1/definitions/{BIG}", "path.definition_id"),
    ("GET", f"/api/v1/definitions/key/userRegistration?version={BIG}", "query.version"),
    ("GET", f"/api/v1/instances?definition_id={BIG}", "query.definition_id"),
    ("GET", f"/api/v1/history/instances?definition_id={BIG}", "query.definition_id"),
    ("GET", f"/api/v1/history/instances?min_duration_ms={BIG}", "query.min_duration_ms"),
    ("GET", f"/api/v1/instances/i/steps/{BIG}", "path.step_id"),
    (
        "GET",
        "/api/v1/instances?started_after=0001-01-01T00:00:00%2B23:59",
        "query.started_after",
    ),
    (
        "GET",
        "/api/v1/instances?started_before=9999-12-31T23:59:59-23:59",
        "query.started_before",
    ),
    (
        "GET",
        "/api/v1/history/instances?ended_after=0001-01-01T00:00:00%2B23:59",
        "query.ended_after",
    ),
    (
        "GET",
        "/api/v1/audit?occurred_after=0001-01-01T00:00:00%2B23:59",
        "query.occurred_after",
    ),
]


@pytest.mark.parametrize(("method", "url", "path"), OUT_OF_RANGE)
async def test_out_of_range_ids_and_dates_are_400_naming_the_parameter(
    client: httpx.AsyncClient, seed_bytes: bytes, method: str, url: str, path: str
) -> None:
    deployed = await client.post("/api/v1/definitions", content=seed_bytes, headers=JSON)
    assert deployed.status_code == 201
    response = await client.request(method, url)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["path"] == path
