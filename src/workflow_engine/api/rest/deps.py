"""FastAPI dependencies: the shared services live on `app.state.services`."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from workflow_engine.services.container import Services


def get_services(request: Request) -> Services:
    """The services the app was created with."""
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]
