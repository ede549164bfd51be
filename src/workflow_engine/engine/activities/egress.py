"""Egress policy of the built-in `http` task: which addresses a definition may make it call.

A definition author controls the URL of an `http` service task, and the worker runs it inside
the engine's network. Without a policy that URL can be the Temporal Web UI on 127.0.0.1 (and
read every tenant's variables), the engine's own API, Redis, PostgreSQL or a cloud metadata
service. So:

- Every destination is checked **after DNS resolution**, for the first request and for every
  redirect hop. A name resolving to a loopback, private (RFC 1918, fc00::/7), link-local
  (169.254/16 with the 169.254.169.254 metadata service, fe80::/10), unspecified, multicast,
  shared (100.64/10, carrier-grade NAT), documentation, benchmarking or otherwise reserved
  address is refused, also in IPv4-mapped, NAT64 and 6to4 IPv6 spellings. A name with several
  addresses is refused when any of them is.
- The allow-list (`http_egress_allow`, and per tenant `http_egress_allow_by_tenant`) opens
  such addresses: entries are host names (`billing.internal`, `*.svc.cluster.local`),
  `host:port`, IP addresses or CIDR ranges (`10.20.0.0/16`, `10.20.0.0/16:8443`).
- The engine's own endpoints (its HTTP API, gRPC, metrics, Temporal's frontend, Web UI and HTTP
  API, PostgreSQL and Redis from the configured URLs) are refused even when allow-listed.
- Public addresses are allowed unless `http_egress_allow_public` is false (then only
  allow-listed destinations are reachable).

A refusal is :class:`EgressDeniedError`; the `http` activity turns it into a non-retryable
`ApplicationError` of type `EgressDenied` naming the host and the reason, so the instance's
incident explains it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select

from workflow_engine.engine.contract import instance_id_of
from workflow_engine.store.tables import ProcessInstance

if TYPE_CHECKING:
    from workflow_engine.config import Settings
    from workflow_engine.store.database import Database

__all__ = [
    "EGRESS_DENIED",
    "EgressDeniedError",
    "EgressPolicy",
    "EgressRule",
    "EngineEndpoint",
    "IPAddress",
    "Resolver",
    "address_class",
    "engine_endpoints",
    "instance_tenant_lookup",
    "parse_rule",
    "system_resolver",
]

#: Error type of a refused destination (an `ApplicationError` type, usable as `error_code`).
EGRESS_DENIED = "EgressDenied"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Resolves (host, port) to the addresses a connection may go to.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
# Named classes first (the reason shown to the author), then `is_global` catches the rest.
_CLASSES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = tuple(
    (name, tuple(ipaddress.ip_network(n) for n in networks))
    for name, networks in (
        ("a loopback address", ("127.0.0.0/8", "::1/128")),
        ("an unspecified address", ("0.0.0.0/8", "::/128")),
        ("a link-local address", ("169.254.0.0/16", "fe80::/10")),
        ("a private address", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
        ("a shared (carrier-grade NAT) address", ("100.64.0.0/10",)),
        ("a multicast address", ("224.0.0.0/4", "ff00::/8")),
        ("a site-local address", ("fec0::/10",)),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class EgressDeniedError(Exception):
    """A destination the policy refuses.

    Attributes:
        host: The host as the URL names it.
        port: The destination port.
        reason: Why, in words (`127.0.0.1 is a loopback address`).
    """

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"egress to {_hostport(host, port)} refused: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 spelling stands for (mapped, NAT64, 6to4), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def address_class(address: IPAddress) -> str | None:
    """Why `address` is not public (`a loopback address`, ...), or None for a public address."""
    plain = _unwrap(address)
    if plain in _METADATA or address in _METADATA:
        return "a cloud metadata service address"
    for name, networks in _CLASSES:
        if any(plain in network for network in networks if network.version == plain.version):
            return name
    if not plain.is_global:
        return "a reserved (non-public) address"
    return None


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class EgressRule:
    """One allow-list entry: a host name pattern or an address range, optionally one port.

    Attributes:
        text: The entry as configured (shown in messages).
        host: Lower-case host name (`*.example.internal` matches any subdomain); None for a range.
        network: The address range; None for a host name.
        port: Only this port; None: any port.
    """

    text: str
    host: str | None
    network: IPNetwork | None
    port: int | None

    def matches(self, host: str, port: int, address: IPAddress) -> bool:
        """Whether a connection to `address` for URL host `host` on `port` is covered."""
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return any(
                a.version == self.network.version and a in self.network
                for a in {address, _unwrap(address)}
            )
        name = host.lower().rstrip(".")
        assert self.host is not None
        if self.host.startswith("*."):
            return name.endswith(self.host[1:])
        return name == self.host


def parse_rule(text: str) -> EgressRule:
    """Parse an allow-list entry: `host`, `*.domain`, `host:port`, an IP, a CIDR, `CIDR:port`.

    IPv6 with a port is written in brackets: `[fd00::1]:8443`, `[fd00::/64]:8443`.

    Raises:
        ValueError: the entry is none of those (the message quotes it).
    """
    entry = text.strip()
    if not entry:
        raise ValueError("an empty entry")
    if "://" in entry:
        raise ValueError(f"{text!r}: give a host, host:port or CIDR, not a URL")
    port: int | None = None
    target = entry
    if entry.startswith("["):
        inner, _, rest = entry[1:].partition("]")
        target = inner
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: expected [address]:port")
            port = _port(rest[1:], text)
    elif entry.count(":") == 1:
        target, _, port_text = entry.partition(":")
        port = _port(port_text, text)
    try:
        network = ipaddress.ip_network(target, strict=False)
    except ValueError:
        network = None
    if network is not None:
        return EgressRule(text=entry, host=None, network=network, port=port)
    host = target.lower().rstrip(".")
    labels = host[2:] if host.startswith("*.") else host
    if (
        not labels
        or "*" in labels
        or "/" in labels
        or not all(
            part and all(c.isalnum() or c in "-_" for c in part) for part in labels.split(".")
        )
    ):
        raise ValueError(f"{text!r} is not a host name, host:port, IP address or CIDR range")
    return EgressRule(text=entry, host=host, network=None, port=port)


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{entry!r}: the port must be a number between 1 and 65535")
    return int(text)


@dataclass(frozen=True, slots=True)
class EngineEndpoint:
    """A port of the engine itself, never reachable from the `http` task.

    Attributes:
        name: What listens there (`the engine's HTTP API`, `PostgreSQL`, ...).
        host: Its host as configured (a name or an address; 0.0.0.0 means every local one).
        port: Its port.
    """

    name: str
    host: str
    port: int


def _url_endpoint(name: str, url: str | None, default_port: int) -> EngineEndpoint | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None  # e.g. SQLite: a file, no port
    return EngineEndpoint(name, host, port or default_port)


def engine_endpoints(settings: Settings) -> list[EngineEndpoint]:
    """The engine's own listening ports, from its settings (see :class:`EngineEndpoint`)."""
    host = settings.http_host
    endpoints = [
        EngineEndpoint("the engine's HTTP API", host, settings.http_port),
        EngineEndpoint("the engine's gRPC API", host, settings.grpc_port),
    ]
    if settings.metrics_port is not None:
        endpoints.append(EngineEndpoint("the worker's metrics", host, settings.metrics_port))
    temporal_host, _, temporal_port = settings.effective_temporal_address.rpartition(":")
    temporal_host = temporal_host.strip("[]") or "127.0.0.1"
    if temporal_port.isdigit():
        endpoints.append(EngineEndpoint("Temporal's frontend", temporal_host, int(temporal_port)))
    endpoints.append(
        EngineEndpoint("Temporal's Web UI", temporal_host, settings.effective_temporal_ui_port)
    )
    endpoints.append(
        EngineEndpoint("Temporal's HTTP API", temporal_host, settings.effective_temporal_http_port)
    )
    database = settings.database_url or ""
    if not database.startswith("sqlite"):
        postgres = _url_endpoint("PostgreSQL", database, 5432)
        if postgres is not None:
            endpoints.append(postgres)
    redis = _url_endpoint("Redis", settings.redis_url, 6379)
    if redis is not None:
        endpoints.append(redis)
    return endpoints


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve with the operating system's resolver (`getaddrinfo`), off the event loop."""
    literal = _parse_address(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # The scope id of a link-local IPv6 address (`fe80::1%eth0`) is dropped: it is refused.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _local_addresses() -> set[IPAddress]:
    """Addresses of this machine as its own name resolves (a 0.0.0.0 listener is on them)."""
    found: set[IPAddress] = set()
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except OSError:
        return found
    for info in infos:
        address = _parse_address(str(info[4][0]).split("%", 1)[0])
        if address is not None:
            found.add(address)
    return found


@dataclass
class EgressPolicy:
    """Decides whether the `http` task may connect somewhere (see the module docstring).

    Attributes:
        allow: Allow-list entries every tenant gets.
        allow_by_tenant: Further entries per tenant id.
        allow_public: Public addresses need no entry (False: only allow-listed destinations).
        endpoints: The engine's own ports; refused even when allow-listed.
        resolver: Name resolution (the system's by default).
    """

    allow: Sequence[EgressRule] = ()
    allow_by_tenant: Mapping[str, Sequence[EgressRule]] = field(default_factory=dict)
    allow_public: bool = True
    endpoints: Sequence[EngineEndpoint] = ()
    resolver: Resolver = system_resolver

    @classmethod
    def from_settings(cls, settings: Settings, *, resolver: Resolver | None = None) -> EgressPolicy:
        """The policy of `settings` (`http_egress_*`), with the engine's ports it names.

        Raises:
            ValueError: an allow-list entry cannot be parsed (names the setting and entry).
        """
        return cls(
            allow=_rules(settings.http_egress_allow, "http_egress_allow"),
            allow_by_tenant={
                tenant: _rules(entries, f"http_egress_allow_by_tenant[{tenant!r}]")
                for tenant, entries in settings.http_egress_allow_by_tenant.items()
            },
            allow_public=settings.http_egress_allow_public,
            endpoints=engine_endpoints(settings),
            resolver=resolver or system_resolver,
        )

    def rules_for(self, tenant: str | None) -> list[EgressRule]:
        """The entries that apply to `tenant` (the global ones, plus its own)."""
        own = self.allow_by_tenant.get(tenant, ()) if tenant is not None else ()
        return [*self.allow, *own]

    async def check(self, host: str, port: int, *, tenant: str | None) -> list[IPAddress]:
        """Resolve `host` and check every address; returns the addresses to connect to.

        The caller must connect to one of exactly these addresses (not resolve again), so a
        DNS answer that changes between check and connect cannot slip past the check.

        Raises:
            EgressDeniedError: naming the host, the address and why.
        """
        shown = host.strip("[]")
        name = shown.lower().rstrip(".")
        try:
            addresses = await self.resolver(shown, port)
        except (OSError, UnicodeError) as exc:
            raise EgressDeniedError(shown, port, f"the name does not resolve ({exc})") from None
        if not addresses:
            raise EgressDeniedError(shown, port, "the name resolves to no address")
        rules = self.rules_for(tenant)
        whose = (
            "the global allow-list" if tenant is None else f"the allow-list of tenant {tenant!r}"
        )
        for address in addresses:
            own = await self._engine_endpoint(name, port, address)
            if own is not None:
                raise EgressDeniedError(
                    shown,
                    port,
                    f"{_hostport(str(address), port)} is {own}, which is never reachable "
                    "from the http task (not even when allow-listed)",
                )
            listed = any(rule.matches(name, port, address) for rule in rules)
            why = address_class(address)
            if why is not None and not listed:
                if name in _LOCAL_NAMES or _parse_address(name) is not None:
                    detail = f"{address} is {why}"
                else:
                    detail = f"{shown!r} resolves to {address}, {why}"
                raise EgressDeniedError(shown, port, f"{detail}, not in {whose}")
            if why is None and not listed and not self.allow_public:
                raise EgressDeniedError(
                    shown, port, f"only allow-listed destinations are reachable ({whose})"
                )
        return addresses

    async def _engine_endpoint(self, name: str, port: int, address: IPAddress) -> str | None:
        """Which engine endpoint `address:port` is, if any."""
        candidates = {address, _unwrap(address)}
        for endpoint in self.endpoints:
            if endpoint.port != port:
                continue
            if name == endpoint.host.lower():
                return endpoint.name
            literal = _parse_address(endpoint.host)
            if endpoint.host.lower() in _LOCAL_NAMES or (
                literal is not None and (literal.is_loopback or literal.is_unspecified)
            ):
                # Bound to loopback or to every interface: any local spelling reaches it.
                if any(a.is_loopback or a.is_unspecified for a in candidates):
                    return endpoint.name
                if (
                    literal is not None
                    and literal.is_unspecified
                    and candidates & _local_addresses()
                ):
                    return endpoint.name
            if literal is not None:
                targets = {literal}
            else:
                try:
                    targets = set(await self.resolver(endpoint.host, port))
                except (OSError, UnicodeError):
                    continue  # a name that does not resolve cannot be connected to either
            if candidates & targets:
                return endpoint.name
        return None


def _rules(entries: Iterable[str], setting: str) -> list[EgressRule]:
    rules: list[EgressRule] = []
    for index, entry in enumerate(entries):
        try:
            rules.append(parse_rule(entry))
        except ValueError as exc:
            raise ValueError(f"{setting}[{index}]: {exc}") from None
    return rules


#: Tenants remembered by :func:`instance_tenant_lookup` (an instance never changes tenant).
_TENANT_CACHE_SIZE = 10_000


def instance_tenant_lookup(database: Database) -> Callable[[str], Awaitable[str | None]]:
    """Find an instance's tenant by its workflow id (`pi-<id>`) in the application database.

    The tenant comes from the engine's own row, never from the activity's input, which a
    definition author controls. An id that names no instance gives None (the global
    allow-list alone applies).
    """
    known: dict[str, str] = {}

    async def tenant_of(workflow_id: str) -> str | None:
        instance_id = instance_id_of(workflow_id)
        if instance_id is None:
            return None
        if instance_id in known:
            return known[instance_id]
        async with database.session() as session:
            tenant = (
                await session.execute(
                    select(ProcessInstance.tenant_id).where(ProcessInstance.id == instance_id)
                )
            ).scalar_one_or_none()
        if tenant is not None:
            if len(known) >= _TENANT_CACHE_SIZE:
                known.clear()
            known[instance_id] = tenant
        return tenant

    return tenant_of
