"""Who is calling and what they may do: principals, permissions, the acting principal.

Transports (REST middleware, gRPC `rpc` wrapper) authenticate a request and run it under
`acting_as(principal)`; services ask `current_principal()` and `require(...)`. Internal callers
(engine activities, the CLI against its own database, timers) act as `Principal.system()`.
"""

from workflow_engine.security.context import acting_as, current_principal
from workflow_engine.security.permissions import Permission, Role, permissions_of, require
from workflow_engine.security.principal import Principal

__all__ = [
    "Permission",
    "Principal",
    "Role",
    "acting_as",
    "current_principal",
    "permissions_of",
    "require",
]
