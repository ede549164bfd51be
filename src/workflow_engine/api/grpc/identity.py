"""`workflow_engine.v1.IdentityService`: who the caller is (REST `GET /api/v1/me`).

The answer comes from `security.identity`, shared with REST; the authentication interceptor
has already set the call's principal (the system one while auth is off).
"""

from __future__ import annotations

import grpc

from workflow_engine.api.grpc.errors import rpc
from workflow_engine.api.grpc.generated import identity_pb2 as pb
from workflow_engine.api.grpc.generated.identity_pb2_grpc import IdentityServiceServicer
from workflow_engine.security.identity import current_identity


class IdentityServicer(IdentityServiceServicer):
    """Implements `workflow_engine.v1.IdentityService`.

    Args:
        auth_enabled: The server's `auth_enabled` setting (reported in every answer).
    """

    def __init__(self, *, auth_enabled: bool) -> None:
        self._auth_enabled = auth_enabled

    @rpc
    async def WhoAmI(  # noqa: N802 - gRPC method names are CamelCase
        self, request: pb.WhoAmIRequest, context: grpc.aio.ServicerContext
    ) -> pb.Identity:
        """The caller's user, groups, roles, tenant and permissions."""
        identity = current_identity(auth_enabled=self._auth_enabled)
        return pb.Identity(
            auth_enabled=identity.auth_enabled,
            user_id=identity.user_id,
            groups=identity.groups,
            roles=identity.roles,
            tenant_id=identity.tenant_id,
            permissions=identity.permissions,
        )
