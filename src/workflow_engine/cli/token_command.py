"""`wfe token`: mint a development bearer token with the configured shared secret.

The token is signed like the server expects (issuer, audience, claim names, an HS* algorithm it
accepts), so `WFE_TOKEN=$(wfe token ...)` works against a server sharing the same settings.
"""

from __future__ import annotations

from typing import Annotated

import typer

from workflow_engine.cli.console import err, load_cli_settings


def token(
    user: Annotated[str, typer.Option("--user", help="User id (the token's subject).")],
    groups: Annotated[str, typer.Option(help="Comma-separated groups, e.g. g1,g2.")] = "",
    roles: Annotated[
        str, typer.Option(help="Comma-separated roles: admin, modeler, operator, user.")
    ] = "",
    tenant: Annotated[
        str | None, typer.Option(help="Tenant id (default: the default tenant).")
    ] = None,
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a development token signed with the configured auth_jwt_secret.

    Use it as `WFE_TOKEN=$(wfe token --user alice --roles admin) wfe instances`.
    """
    from workflow_engine.security.permissions import Role
    from workflow_engine.security.tokens import claim_names, mint_token

    settings = load_cli_settings()
    secret = settings.auth_jwt_secret
    if secret is None:
        err.print(
            "[red]no auth_jwt_secret configured:[/red] set WFE_AUTH_JWT_SECRET (at least 32 "
            "bytes, e.g. `openssl rand -hex 32`) to the server's secret to mint tokens"
        )
        raise typer.Exit(2)
    hs = [a for a in settings.auth_algorithms if a.startswith("HS")]
    if not hs:
        err.print(
            "[red]auth_algorithms accepts no HS* algorithm:[/red] the server would refuse a "
            f"token signed with the secret (accepted: {', '.join(settings.auth_algorithms)})"
        )
        raise typer.Exit(2)
    role_names = _split_csv(roles)
    known = {r.value for r in Role}
    for name in role_names - known:
        err.print(f"[yellow]warning:[/yellow] role {name!r} is not one of {sorted(known)}")
    minted = mint_token(
        secret=secret.get_secret_value(),
        user_id=user,
        groups=_split_csv(groups),
        roles=role_names,
        tenant_id=tenant,
        ttl_seconds=ttl,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        claims=claim_names(settings),
        algorithm=hs[0],
    )
    # Plain print: rich would wrap the long token at the terminal width.
    print(minted)


def _split_csv(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}
