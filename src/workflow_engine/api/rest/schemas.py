"""Response shapes of the REST API (request bodies of definitions are raw JSON / XML)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workflow_engine.model.issues import ValidationIssue
from workflow_engine.services.definitions import DeployResult
from workflow_engine.store.definitions import DefinitionRecord


class IssueOut(BaseModel):
    """One validation finding."""

    path: str
    message: str
    code: str


class DefinitionOut(BaseModel):
    """A deployed definition version."""

    id: int
    key: str
    name: str
    version: int
    category: str
    description: str
    tenant_id: str
    deploy_time: datetime
    suspended: bool
    content_hash: str
    resource_type: str
    has_start_form: bool
    element_count: int
    warnings: list[IssueOut] = Field(default_factory=list)

    @classmethod
    def of(cls, record: DefinitionRecord) -> DefinitionOut:
        """Build from a store record."""
        return cls(
            id=record.id,
            key=record.key,
            name=record.name,
            version=record.version,
            category=record.category,
            description=record.description,
            tenant_id=record.tenant_id,
            deploy_time=record.deploy_time,
            suspended=record.suspended,
            content_hash=record.content_hash,
            resource_type=record.resource_type,
            has_start_form=record.has_start_form,
            element_count=record.element_count,
            warnings=[IssueOut(**w) for w in record.warnings],
        )


class DeployOut(DefinitionOut):
    """A deployment's answer: the version plus whether this call created it."""

    created: bool

    @classmethod
    def of_result(cls, result: DeployResult) -> DeployOut:
        """Build from a deploy result."""
        base = DefinitionOut.of(result.definition).model_dump()
        base["warnings"] = [_issue(w) for w in result.warnings]
        return cls(**base, created=result.created)


class DefinitionListOut(BaseModel):
    """A page of definitions."""

    items: list[DefinitionOut]
    next_page_token: str | None


class ValidationOut(BaseModel):
    """The answer of `/definitions/validate`."""

    valid: bool
    errors: list[IssueOut]
    warnings: list[IssueOut]


def _issue(issue: ValidationIssue) -> IssueOut:
    return IssueOut(**issue.to_dict())


def issues_out(issues: tuple[ValidationIssue, ...]) -> list[IssueOut]:
    """Convert findings for a response."""
    return [_issue(i) for i in issues]
