"""`/api/v1/definitions`: thin HTTP over `DefinitionService` (DESIGN §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from workflow_engine.api.rest.body import read_limited_body
from workflow_engine.api.rest.deps import ServicesDep
from workflow_engine.api.rest.params import DatabaseId, OptionalVersionQuery
from workflow_engine.api.rest.schemas import (
    DefinitionListOut,
    DefinitionOut,
    DeployOut,
    ValidationOut,
    issues_out,
)
from workflow_engine.model.bpmn import export_bpmn
from workflow_engine.services.definition_source import DefinitionFormat, format_from_content_type
from workflow_engine.services.definitions import MAX_PAGE_SIZE, DefinitionQuery
from workflow_engine.services.errors import InvalidArgumentError

router = APIRouter(prefix="/api/v1/definitions", tags=["definitions"])

SVG_MEDIA_TYPE = "image/svg+xml"

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}

ProcessIdQuery = Annotated[
    str | None, Query(description="BPMN files with several processes: the one to deploy")
]


async def _upload(request: Request, services: ServicesDep) -> tuple[bytes, DefinitionFormat]:
    fmt = format_from_content_type(request.headers.get("content-type"))
    body = await read_limited_body(request, limit=services.settings.max_definition_bytes)
    if not body.strip():
        raise InvalidArgumentError("the request body is empty: send the definition")
    return body, fmt


@router.post("", status_code=201, response_model=DeployOut, openapi_extra=_UPLOAD_DOC)
async def deploy(
    request: Request, services: ServicesDep, process_id: ProcessIdQuery = None
) -> JSONResponse:
    """Deploy a JSON or BPMN XML definition: 201 for a new version, 200 for identical content."""
    body, fmt = await _upload(request, services)
    result = await services.definitions.deploy(body, fmt=fmt, process_id=process_id)
    out = DeployOut.of_result(result)
    headers = {"Location": f"/api/v1/definitions/{out.id}"}
    status = 201 if result.created else 200
    return JSONResponse(out.model_dump(mode="json"), status_code=status, headers=headers)


@router.post("/validate", response_model=ValidationOut, openapi_extra=_UPLOAD_DOC)
async def validate(
    request: Request, services: ServicesDep, process_id: ProcessIdQuery = None
) -> ValidationOut:
    """Validate without deploying: `{valid, errors[], warnings[]}`."""
    body, fmt = await _upload(request, services)
    checked = services.definitions.check(body, fmt=fmt, process_id=process_id)
    report = checked.report
    return ValidationOut(
        valid=report.valid, errors=issues_out(report.errors), warnings=issues_out(report.warnings)
    )


@router.get("", response_model=DefinitionListOut)
async def list_definitions(
    services: ServicesDep,
    key: str | None = None,
    category: str | None = None,
    name: Annotated[str | None, Query(description="substring of the name")] = None,
    latest: Annotated[bool, Query(description="only the latest version of each key")] = False,
    suspended: bool | None = None,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    page_token: str | None = None,
) -> DefinitionListOut:
    """List definitions with filters and page tokens."""
    query = DefinitionQuery(
        key=key, category=category, name_like=name, latest_only=latest, suspended=suspended
    )
    page = await services.definitions.list(query, page_size=page_size, page_token=page_token)
    return DefinitionListOut(
        items=[DefinitionOut.of(r) for r in page.items], next_page_token=page.next_page_token
    )


@router.get("/key/{key}", response_model=DefinitionOut)
async def get_by_key(
    key: str,
    services: ServicesDep,
    version: OptionalVersionQuery = None,
    tenant_id: Annotated[str | None, Query(description="needed when tenants share a key")] = None,
) -> DefinitionOut:
    """The latest version of a key, or `?version=N`."""
    record = await services.definitions.get_by_key(key, version=version, tenant_id=tenant_id)
    return DefinitionOut.of(record)


@router.get("/{definition_id}", response_model=DefinitionOut)
async def get_definition(definition_id: DatabaseId, services: ServicesDep) -> DefinitionOut:
    """One definition version."""
    return DefinitionOut.of(await services.definitions.get(definition_id))


@router.put("/{definition_id}", response_model=DeployOut, openapi_extra=_UPLOAD_DOC)
async def update_definition(
    definition_id: DatabaseId, request: Request, services: ServicesDep
) -> JSONResponse:
    """Deploy a new version of this definition's key (the upload must keep the key)."""
    body, fmt = await _upload(request, services)
    result = await services.definitions.update(definition_id, body, fmt=fmt)
    out = DeployOut.of_result(result)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if result.created else 200)


@router.delete("/{definition_id}", status_code=204)
async def delete_definition(
    definition_id: DatabaseId, services: ServicesDep, cascade: bool = False
) -> Response:
    """Delete a version; 409 while instances run unless `cascade=true`."""
    await services.definitions.delete(definition_id, cascade=cascade)
    return Response(status_code=204)


@router.post("/{definition_id}/suspend", response_model=DefinitionOut)
async def suspend(definition_id: DatabaseId, services: ServicesDep) -> DefinitionOut:
    """Suspend: the version starts no new instances."""
    return DefinitionOut.of(await services.definitions.set_suspended(definition_id, suspended=True))


@router.post("/{definition_id}/activate", response_model=DefinitionOut)
async def activate(definition_id: DatabaseId, services: ServicesDep) -> DefinitionOut:
    """Activate a suspended version."""
    record = await services.definitions.set_suspended(definition_id, suspended=False)
    return DefinitionOut.of(record)


@router.get("/{definition_id}/resource")
async def resource(definition_id: DatabaseId, services: ServicesDep) -> Response:
    """The deployed text, exactly as uploaded, with its media type."""
    record = await services.definitions.get(definition_id)
    media = DefinitionFormat(record.resource_type).media_type
    return Response(record.resource, media_type=f"{media}; charset=utf-8")


@router.get(
    "/{definition_id}/diagram",
    responses={
        200: {
            "description": "The diagram: SVG (default) or BPMN 2.0 XML with diagram interchange",
            "content": {"image/svg+xml": {}, "application/xml": {}},
        }
    },
)
async def diagram(
    definition_id: DatabaseId,
    services: ServicesDep,
    format: Annotated[
        str,
        Query(description="svg: the rendered diagram; bpmn: BPMN 2.0 XML with diagram interchange"),
    ] = "svg",
) -> Response:
    """The process diagram as SVG, or as BPMN 2.0 XML with diagram interchange (bpmn.io)."""
    if format == "svg":
        svg = await services.diagrams.definition_svg(definition_id)
        return Response(svg, media_type=SVG_MEDIA_TYPE)
    if format != "bpmn":
        raise InvalidArgumentError(f"format '{format}' is not available; use format=svg or bpmn")
    model = await services.definitions.model(definition_id)
    document = await services.definitions.document(definition_id)
    layout = document.get("diagram")
    xml = export_bpmn(model, diagram=layout if isinstance(layout, dict) else None)
    return Response(xml, media_type="application/xml")
