"""gRPC authentication: every application call runs as the principal of its bearer token.

A server interceptor wraps each method handler of the workflow-engine services (not health
or reflection, which stay public like `/readyz` and `/openapi.json`): the wrapper reads the
`authorization` metadata (`Bearer <token>`), checks the token and runs the servicer method
under `acting_as(principal)`, in the task that serves the call, so the services see it. A bad
or missing token ends the call with UNAUTHENTICATED through the usual error contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from workflow_engine.api.grpc.errors import abort_with
from workflow_engine.api.grpc.interception import ServiceGate
from workflow_engine.security import Principal, acting_as
from workflow_engine.security.tokens import TokenVerifier
from workflow_engine.services.errors import ServiceError


def _authorization(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


class AuthInterceptor(ServiceGate):
    """Authenticate the calls of the named services.

    Args:
        verifier: The token verifier; None means authentication is off (calls act as the
            system principal).
        protected_services: Full names of the services that need a token (e.g.
            `workflow_engine.v1.DefinitionService`); calls of others pass untouched.
    """

    def __init__(self, verifier: TokenVerifier | None, protected_services: tuple[str, ...]) -> None:
        super().__init__(protected_services)
        self._verifier = verifier

    @asynccontextmanager
    async def around(self, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
        """Run the call as the caller's principal (ends it UNAUTHENTICATED on a bad token)."""
        with acting_as(await self._principal(context)):
            yield

    async def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        if self._verifier is None:
            return Principal.system()
        try:
            return await self._verifier.verify_header(_authorization(context))
        except ServiceError as exc:
            await abort_with(context, exc)
