"""The egress policy of the `http` built-in (issue 15, finding 1).

Real requests to real servers on 127.0.0.1: what the policy refuses never reaches the server
(its hit counter stays at zero); what a tenant's allow-list opens is served.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tests.engine.activities.http_server import Served, serving
from workflow_engine.config import ConfigError, load_settings
from workflow_engine.engine.activities.egress import (
    EGRESS_DENIED,
    EgressDeniedError,
    EgressPolicy,
    IPAddress,
    address_class,
    engine_endpoints,
    instance_tenant_lookup,
    parse_rule,
)
from workflow_engine.engine.activities.http import HttpActivities, parse_http_request
from workflow_engine.engine.contract import workflow_id
from workflow_engine.store.database import Database
from workflow_engine.store.instances import InstanceRepository


@pytest.fixture
def server() -> Iterator[Served]:
    with serving() as served:
        yield served


@pytest.fixture
def other_server() -> Iterator[Served]:
    with serving() as served:
        yield served


def _policy(**kwargs: Any) -> EgressPolicy:
    allow = [parse_rule(entry) for entry in kwargs.pop("allow", [])]
    by_tenant = {
        tenant: [parse_rule(entry) for entry in entries]
        for tenant, entries in kwargs.pop("by_tenant", {}).items()
    }
    return EgressPolicy(allow=allow, allow_by_tenant=by_tenant, **kwargs)


@pytest_asyncio.fixture
async def default_http() -> AsyncIterator[HttpActivities]:
    activities = HttpActivities()  # no policy given: the default one
    try:
        yield activities
    finally:
        await activities.aclose()


async def _send(http: HttpActivities, url: str, *, tenant: str | None = None) -> dict[str, Any]:
    return await http.send(parse_http_request({"url": url}), tenant=tenant)


async def _refused(http: HttpActivities, url: str, *, tenant: str | None = None) -> str:
    with pytest.raises(ApplicationError) as info:
        await _send(http, url, tenant=tenant)
    error = info.value
    assert error.type == EGRESS_DENIED, error.message
    assert error.non_retryable
    return error.message


# --- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "reserved"),
        ("198.18.0.1", "reserved"),
        ("2001:db8::1", "reserved"),
        # IPv6 spellings of IPv4 addresses: mapped, NAT64, 6to4.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("2002:7f00:1::1", "loopback"),
    ],
)
def test_non_public_addresses_are_classified(address: str, reason: str) -> None:
    why = address_class(ipaddress.ip_address(address))
    assert why is not None
    assert reason in why


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_class(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("entry", "host", "network", "port"),
    [
        ("billing.internal", "billing.internal", None, None),
        ("Billing.Internal:8443", "billing.internal", None, 8443),
        ("*.svc.cluster.local", "*.svc.cluster.local", None, None),
        ("10.20.0.0/16", None, "10.20.0.0/16", None),
        ("10.20.0.0/16:8443", None, "10.20.0.0/16", 8443),
        ("127.0.0.1", None, "127.0.0.1/32", None),
        ("127.0.0.1:9000", None, "127.0.0.1/32", 9000),
        ("fd00::/64", None, "fd00::/64", None),
        ("[fd00::1]:443", None, "fd00::1/128", 443),
    ],
)
def test_allow_list_entries_parse(
    entry: str, host: str | None, network: str | None, port: int | None
) -> None:
    rule = parse_rule(entry)
    assert rule.host == host
    assert (str(rule.network) if rule.network else None) == network
    assert rule.port == port


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("", "empty"),
        ("http://x.example", "not a URL"),
        ("host:0", "port"),
        ("host:99999", "port"),
        ("host:x", "port"),
        ("bad host", "not a host name"),
        ("a.*.example", "not a host name"),
        ("[fd00::1]443", "[address]:port"),
    ],
)
def test_bad_allow_list_entries_are_named(entry: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_rule(entry)


# --- the default policy against a real server -------------------------------------------------


async def test_loopback_server_is_refused_by_default(
    default_http: HttpActivities, server: Served
) -> None:
    message = await _refused(default_http, f"{server.base}/echo")
    assert "127.0.0.1" in message
    assert "loopback" in message
    assert "not in the global allow-list" in message
    assert server.hits == {}  # refused before any connection


async def test_localhost_and_other_loopback_spellings_are_refused(
    default_http: HttpActivities, server: Served
) -> None:
    port = server.port
    for url in (
        f"http://localhost:{port}/echo",
        f"http://[::ffff:127.0.0.1]:{port}/echo",
        f"http://127.1:{port}/echo",
        f"http://2130706433:{port}/echo",  # 127.0.0.1 as one decimal number
        f"http://0.0.0.0:{port}/echo",
    ):
        message = await _refused(default_http, url)
        assert "loopback" in message or "unspecified" in message, (url, message)
    assert server.hits == {}


async def test_metadata_and_private_addresses_are_refused(default_http: HttpActivities) -> None:
    message = await _refused(default_http, "http://169.254.169.254/latest/meta-data/")
    assert "169.254.169.254" in message
    assert "metadata" in message
    message = await _refused(default_http, "http://[fd00:ec2::254]/latest/meta-data/")
    assert "metadata" in message
    message = await _refused(default_http, "http://10.0.0.1:8080/admin")
    assert "10.0.0.1" in message
    assert "private" in message


async def test_error_details_name_host_port_and_reason(
    default_http: HttpActivities, server: Served
) -> None:
    with pytest.raises(ApplicationError) as info:
        await _send(default_http, f"http://localhost:{server.port}/echo")
    detail: Any = info.value.details[0]
    assert detail["host"] == "localhost"
    assert detail["port"] == server.port
    assert "loopback" in detail["reason"]
    assert "'localhost' resolves to" not in detail["reason"] or "127.0.0.1" in detail["reason"]


# --- allow-lists per tenant ----------------------------------------------------------------


async def test_allow_listed_for_one_tenant_only(server: Served) -> None:
    http = HttpActivities(policy=_policy(by_tenant={"acme": [f"127.0.0.1:{server.port}"]}))
    try:
        served = await _send(http, f"{server.base}/echo/acme", tenant="acme")
        assert served["status"] == 200
        message = await _refused(http, f"{server.base}/echo/globex", tenant="globex")
        assert "not in the allow-list of tenant 'globex'" in message
        await _refused(http, f"{server.base}/echo/nobody")  # no tenant: global list only
    finally:
        await http.aclose()
    assert server.hits == {"/echo/acme": 1}


async def test_global_allow_list_applies_to_every_tenant(server: Served) -> None:
    http = HttpActivities(policy=_policy(allow=["127.0.0.0/8"]))
    try:
        for tenant in ("acme", "globex", None):
            assert (await _send(http, f"{server.base}/echo", tenant=tenant))["status"] == 200
    finally:
        await http.aclose()
    assert server.hits == {"/echo": 3}


async def test_host_name_entries_match_the_url_name(server: Served) -> None:
    http = HttpActivities(policy=_policy(by_tenant={"acme": ["localhost"]}))
    try:
        ok = await _send(http, f"http://localhost:{server.port}/echo", tenant="acme")
        assert ok["status"] == 200
        # The name was allow-listed, not the address: 127.0.0.1 itself stays refused.
        await _refused(http, f"{server.base}/echo", tenant="acme")
    finally:
        await http.aclose()


async def test_allow_public_false_refuses_unlisted_public_addresses() -> None:
    http = HttpActivities(policy=_policy(allow_public=False, allow=["93.184.215.14"]))
    try:
        message = await _refused(http, "http://8.8.8.8/")
        assert "only allow-listed destinations" in message
    finally:
        await http.aclose()


# --- redirects -------------------------------------------------------------------------------


async def test_redirect_to_a_refused_address_is_refused(
    server: Served, other_server: Served
) -> None:
    # Only the first server is allowed; the other (also on loopback) is not.
    http = HttpActivities(policy=_policy(by_tenant={"acme": [f"127.0.0.1:{server.port}"]}))
    try:
        for target in (
            f"{other_server.base}/echo",
            f"http://localhost:{other_server.port}/echo",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.1.2.3/internal",
        ):
            url = f"{server.base}/redirect-to?url={target}"
            with pytest.raises(ApplicationError) as info:
                await http.send(parse_http_request({"url": url}), tenant="acme")
            assert info.value.type == EGRESS_DENIED
            assert info.value.non_retryable
        # A redirect that stays within the allow-list is followed.
        ok = await http.send(
            parse_http_request({"url": f"{server.base}/redirect-to?url=/echo/here"}),
            tenant="acme",
        )
        assert ok["body"]["path"] == "/echo/here"
    finally:
        await http.aclose()
    assert other_server.hits == {}
    assert server.hits["/redirect-to"] == 5


async def test_redirect_to_another_scheme_is_refused(server: Served) -> None:
    http = HttpActivities(policy=_policy(allow=["127.0.0.1"]))
    try:
        with pytest.raises(ApplicationError) as info:
            await _send(http, f"{server.base}/redirect-to?url=file:///etc/passwd")
        assert info.value.non_retryable
    finally:
        await http.aclose()


async def test_redirects_are_bounded(server: Served) -> None:
    http = HttpActivities(policy=_policy(allow=["127.0.0.1"]), max_redirects=2)
    try:
        loop = f"{server.base}/redirect-to?url=/redirect-to%3Furl%3D/redirect-to%253Furl%253D/echo"
        with pytest.raises(ApplicationError) as info:
            await _send(http, loop)
        assert info.value.type == "HTTP_TOO_MANY_REDIRECTS"
        assert info.value.non_retryable
    finally:
        await http.aclose()
    assert "/echo" not in server.hits


# --- the engine's own ports ------------------------------------------------------------------


async def test_engine_ports_are_refused_even_when_allow_listed(
    server: Served, tmp_path: Path
) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        http_port=server.port,  # the test server stands in for the engine's API
        http_egress_allow=["127.0.0.0/8", "localhost", "::1"],
        http_egress_allow_by_tenant={"acme": ["0.0.0.0/0"]},
        redis_url="redis://127.0.0.1:6379/1",
        database_url="postgresql+psycopg://postgres@127.0.0.1:5432/wfe",
        temporal_port=7233,
    )
    http = HttpActivities.from_settings(settings)
    try:
        for url, what in (
            (f"{server.base}/metrics", "the engine's HTTP API"),
            (f"http://localhost:{server.port}/api/v1/instances", "the engine's HTTP API"),
            (f"http://[::ffff:127.0.0.1]:{server.port}/", "the engine's HTTP API"),
            (f"http://127.0.0.1:{settings.grpc_port}/", "gRPC"),
            ("http://127.0.0.1:6379/", "Redis"),
            ("http://127.0.0.1:5432/", "PostgreSQL"),
            ("http://127.0.0.1:7233/", "Temporal's frontend"),
            ("http://127.0.0.1:8233/api/v1/namespaces", "Temporal's Web UI"),
            ("http://localhost:7243/api/v1/namespaces", "Temporal's HTTP API"),
        ):
            message = await _refused(http, url, tenant="acme")
            assert what in message, (url, message)
            assert "not even when allow-listed" in message
        # Another port on the same, allow-listed host is fine.
        with serving() as other:
            assert (await _send(http, f"{other.base}/echo", tenant="acme"))["status"] == 200
    finally:
        await http.aclose()
    assert server.hits == {}


def test_engine_endpoints_come_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        http_host="0.0.0.0",
        http_port=8081,
        grpc_port=9091,
        metrics_port=9100,
        temporal_address="temporal.internal:7300",
        temporal_ui_port=8300,
        temporal_http_port=7310,
        database_url="postgresql+asyncpg://wfe:secret@db.internal/wfe",
        redis_url="redis://:pw@cache.internal:6380/0",
    )
    found = {(e.name, e.host, e.port) for e in engine_endpoints(settings)}
    assert found == {
        ("the engine's HTTP API", "0.0.0.0", 8081),
        ("the engine's gRPC API", "0.0.0.0", 9091),
        ("the worker's metrics", "0.0.0.0", 9100),
        ("Temporal's frontend", "temporal.internal", 7300),
        ("Temporal's Web UI", "temporal.internal", 8300),
        ("Temporal's HTTP API", "temporal.internal", 7310),
        ("PostgreSQL", "db.internal", 5432),
        ("Redis", "cache.internal", 6380),
    }
    sqlite = load_settings(data_dir=tmp_path)
    assert not any(e.name in ("PostgreSQL", "Redis") for e in engine_endpoints(sqlite))
    assert load_settings(data_dir=tmp_path, temporal_port=7400).effective_temporal_http_port == (
        7410
    )


async def test_a_named_engine_host_is_refused_by_its_addresses(tmp_path: Path) -> None:
    """Redis at `cache.internal`: any name resolving to its address, on its port, is refused."""
    names = {
        "cache.internal": [ipaddress.ip_address("10.0.0.7")],
        "alias.example": [ipaddress.ip_address("10.0.0.7")],
    }

    async def resolver(host: str, port: int) -> list[IPAddress]:
        return names[host] if host in names else [ipaddress.ip_address(host)]

    settings = load_settings(
        data_dir=tmp_path,
        redis_url="redis://cache.internal:6379/0",
        http_egress_allow=["10.0.0.0/8"],
    )
    policy = EgressPolicy.from_settings(settings, resolver=resolver)
    for host in ("cache.internal", "alias.example", "10.0.0.7"):
        with pytest.raises(EgressDeniedError, match="Redis"):
            await policy.check(host, 6379, tenant=None)
    assert await policy.check("alias.example", 80, tenant=None) == names["alias.example"]


# --- the address checked is the address connected to --------------------------------------------


async def test_the_connection_goes_to_the_checked_address(server: Served) -> None:
    """DNS rebinding: a second lookup at connect time could answer differently.

    `pinned.test` does not resolve at all on this machine (`.test` is reserved), so the
    request can only succeed if the connection goes to the address the policy checked.
    """
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[IPAddress]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    http = HttpActivities(policy=_policy(allow=["pinned.test"], resolver=resolver))
    try:
        result = await _send(http, f"http://pinned.test:{server.port}/echo")
    finally:
        await http.aclose()
    assert result["status"] == 200
    assert result["body"]["headers"]["host"] == f"pinned.test:{server.port}"
    assert lookups == ["pinned.test"]


async def test_any_refused_address_of_a_name_refuses_it() -> None:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    with pytest.raises(EgressDeniedError, match=r"resolves to 127\.0\.0\.1, a loopback"):
        await _policy(resolver=resolver).check("mixed.example", 80, tenant=None)


async def test_a_name_that_does_not_resolve_is_refused(default_http: HttpActivities) -> None:
    message = await _refused(default_http, "http://no-such-host.invalid/")
    assert "does not resolve" in message


# --- caps -----------------------------------------------------------------------------------


async def test_an_endless_response_is_cut_at_the_cap(server: Served) -> None:
    http = HttpActivities(policy=_policy(allow=["127.0.0.1"]), max_response_bytes=200_000)
    try:
        with pytest.raises(ApplicationError) as info:
            await _send(http, f"{server.base}/endless")
        assert info.value.type == "HTTP_RESPONSE_TOO_LARGE"
        assert info.value.non_retryable
        assert "200000 bytes" in info.value.message
        # A declared Content-Length over the cap fails before the body is read.
        with pytest.raises(ApplicationError) as declared:
            await _send(http, f"{server.base}/big?n=300000")
        assert declared.value.type == "HTTP_RESPONSE_TOO_LARGE"
    finally:
        await http.aclose()


async def test_time_caps(server: Served) -> None:
    http = HttpActivities(policy=_policy(allow=["127.0.0.1"]), timeout_seconds=0.5)
    try:
        # A request cannot ask for more than the configured total.
        with pytest.raises(ApplicationError) as info:
            await http.send(
                parse_http_request({"url": f"{server.base}/slow?seconds=3", "timeout_seconds": 60})
            )
        assert info.value.type == "HTTP_TIMEOUT"
        assert "0.5s" in info.value.message
    finally:
        await http.aclose()
    reads = HttpActivities(policy=_policy(allow=["127.0.0.1"]), read_timeout_seconds=0.3)
    try:
        with pytest.raises(ApplicationError) as info:
            await _send(reads, f"{server.base}/slow?seconds=3")
        assert info.value.type == "HTTP_TIMEOUT"
        assert "ReadTimeout" in info.value.message
    finally:
        await reads.aclose()


# --- settings -------------------------------------------------------------------------------


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WFE_HTTP_EGRESS_ALLOW", "10.0.0.0/8, billing.internal:8443")
    monkeypatch.setenv("WFE_HTTP_EGRESS_ALLOW_BY_TENANT", '{"acme": ["192.168.7.0/24"]}')
    monkeypatch.setenv("WFE_HTTP_MAX_RESPONSE_BYTES", "4096")
    monkeypatch.setenv("WFE_HTTP_TIMEOUT_SECONDS", "12.5")
    settings = load_settings(data_dir=tmp_path)
    assert settings.http_egress_allow == ["10.0.0.0/8", "billing.internal:8443"]
    assert settings.http_egress_allow_by_tenant == {"acme": ["192.168.7.0/24"]}
    assert settings.http_max_response_bytes == 4096
    assert settings.http_timeout_seconds == 12.5
    policy = EgressPolicy.from_settings(settings)
    assert [r.text for r in policy.rules_for("acme")] == [
        "10.0.0.0/8",
        "billing.internal:8443",
        "192.168.7.0/24",
    ]
    assert [r.text for r in policy.rules_for("globex")] == ["10.0.0.0/8", "billing.internal:8443"]


def test_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"http_egress_allow_by_tenant\['acme'\]\[1\]"):
        EgressPolicy.from_settings(
            load_settings(
                data_dir=tmp_path, http_egress_allow_by_tenant={"acme": ["10.0.0.0/8", "a b"]}
            )
        )
    for name, value in (
        ("http_max_response_bytes", 0),
        ("http_timeout_seconds", 0),
        ("http_connect_timeout_seconds", -1),
        ("http_read_timeout_seconds", float("inf")),
        ("http_max_redirects", -1),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings(data_dir=tmp_path, **{name: value})


# --- whose allow-list: the tenant from the engine's own row ---------------------------------------


async def test_tenant_lookup_reads_the_instance_row(database: Database) -> None:
    async with database.session() as session:
        await InstanceRepository(session).create(
            instance_id="i-acme",
            workflow_id=workflow_id("i-acme"),
            definition_id=None,
            definition_key="p",
            definition_version=1,
            tenant_id="acme",
        )
    tenant_of = instance_tenant_lookup(database)
    assert await tenant_of(workflow_id("i-acme")) == "acme"
    assert await tenant_of(workflow_id("i-unknown")) is None
    assert await tenant_of("not-an-instance-workflow") is None


def _tls_pair(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for `name`, and a client context trusting its CA."""
    now = datetime.datetime.now(datetime.UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: Any, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("test CA", ca_key, "test CA", ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate(name, key, "test CA", ca_key, False)
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(
        cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    return server, client


async def test_https_keeps_the_name_for_tls_while_connecting_to_the_checked_address(
    tmp_path: Path,
) -> None:
    """The pin changes where the socket goes, not whom TLS verifies: SNI and the certificate
    check use the URL's name (`pinned.test`), the connection the checked 127.0.0.1."""
    server_tls, client_tls = _tls_pair(tmp_path, "pinned.test")

    async def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    policy = _policy(allow=["pinned.test", "127.0.0.1"], resolver=resolver)
    http = HttpActivities(policy=policy, ssl_context=client_tls)
    try:
        with serving(tls=server_tls) as tls_server:
            ok = await _send(http, f"https://pinned.test:{tls_server.port}/echo")
            assert ok["status"] == 200
            # The same server by address: its certificate does not name 127.0.0.1.
            with pytest.raises(ApplicationError) as info:
                await _send(http, f"https://127.0.0.1:{tls_server.port}/echo")
            assert info.value.type == "HTTP_CONNECTION_ERROR"
            assert "CERTIFICATE_VERIFY_FAILED" in info.value.message
    finally:
        await http.aclose()
    assert tls_server.hits == {"/echo": 1}


async def test_an_unreadable_tenant_is_a_retryable_failure_and_sends_nothing(
    server: Served,
) -> None:
    """The database is away: the request must not go out under a guessed policy."""
    unreachable = Database.from_url("postgresql+psycopg://postgres@127.0.0.1:1/none")
    http = HttpActivities(
        policy=_policy(allow=["127.0.0.1"]), tenant_of=instance_tenant_lookup(unreachable)
    )
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, workflow_id=workflow_id("i-1"))
    try:
        with pytest.raises(ApplicationError) as info:
            await environment.run(http.http, {"url": f"{server.base}/echo"})
    finally:
        await http.aclose()
        await unreachable.dispose()
    assert info.value.type == "EGRESS_TENANT_UNKNOWN"
    assert not info.value.non_retryable
    assert server.hits == {}
