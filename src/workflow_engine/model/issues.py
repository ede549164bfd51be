"""Validation findings: every problem names where it is (a JSON path) and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Errors block a deployment; warnings are reported and deployment goes on."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One finding of the parser or validator.

    Attributes:
        path: Where in the source document, e.g. `elements[4].outgoing[1]` or
            `process.variables.email.type`; `$` for the document as a whole.
        message: A plain sentence saying what is wrong and, where possible, what is expected.
        code: A stable machine-readable code, e.g. `DANGLING_REFERENCE`.
        severity: Error or warning.
    """

    path: str
    message: str
    code: str
    severity: Severity = Severity.ERROR

    def to_dict(self) -> dict[str, str]:
        """The JSON shape used by the REST API's `details` / `errors` / `warnings`."""
        return {"path": self.path, "message": self.message, "code": self.code}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """All findings for one definition, errors and warnings apart."""

    errors: tuple[ValidationIssue, ...] = ()
    warnings: tuple[ValidationIssue, ...] = ()

    @property
    def valid(self) -> bool:
        """True when nothing blocks deployment."""
        return not self.errors

    @classmethod
    def of(cls, issues: Iterable[ValidationIssue]) -> ValidationReport:
        """Split a mixed list of findings by severity, keeping their order."""
        items = list(issues)
        return cls(
            errors=tuple(i for i in items if i.severity is Severity.ERROR),
            warnings=tuple(i for i in items if i.severity is Severity.WARNING),
        )


class DefinitionInvalidError(Exception):
    """Raised when a definition cannot be accepted; carries every finding."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        first = report.errors[0] if report.errors else None
        summary = f"{first.path}: {first.message}" if first else "invalid definition"
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        super().__init__(summary + more)
