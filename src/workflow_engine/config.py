"""Service settings: defaults < YAML file < `WFE_*` environment variables < explicit overrides.

The YAML file is `$WFE_CONFIG` when that variable is set (it must then exist), otherwise
`configs/config.yaml` relative to the working directory when that file exists, otherwise none.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from workflow_engine.crypto.keyring import KeyRing, KeyRingError

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ConfigError",
    "Settings",
    "load_settings",
    "redact_url",
    "resolve_config_file",
]

CONFIG_ENV_VAR = "WFE_CONFIG"
"""Environment variable naming the YAML settings file."""

DEFAULT_CONFIG_FILE = Path("configs/config.yaml")
"""Settings file used when `WFE_CONFIG` is unset, relative to the working directory."""

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOG_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
#: Settings holding URLs whose user-info may carry a password (never shown in repr).
_URL_FIELDS = frozenset({"database_url", "redis_url", "otel_exporter_otlp_endpoint"})
#: The password of a URL's user-info: `scheme://user:PASSWORD@host`.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*(@)")
#: Signature algorithms a deployment may accept (PyJWT names); `none` is not among them.
_AUTH_ALGORITHMS = (
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_MIN_SECRET_BYTES = 32

# `load_settings(config_file=...)` hands its path to `settings_customise_sources`, which is a
# classmethod and cannot see constructor arguments; a context variable keeps that per call
# (and per task) instead of mutating process-wide state such as os.environ.
_config_file_override: ContextVar[Path | None] = ContextVar("wfe_config_file", default=None)


class ConfigError(ValueError):
    """The settings could not be loaded: a missing file or invalid values (each one named)."""


def resolve_config_file(explicit: Path | str | None = None) -> Path | None:
    """Which YAML settings file applies, if any.

    Args:
        explicit: A path chosen by the caller; wins over `WFE_CONFIG` and the default file.

    Returns:
        The file to read, or None when no file is configured and the default does not exist.

    Raises:
        ConfigError: An explicitly named file (argument or `WFE_CONFIG`) does not exist.

    """
    if explicit is not None:
        path, origin = Path(explicit), "config_file"
    elif os.environ.get(CONFIG_ENV_VAR):
        path, origin = Path(os.environ[CONFIG_ENV_VAR]), CONFIG_ENV_VAR
    else:
        return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
    if not path.is_file():
        raise ConfigError(f"{origin}: settings file {str(path)!r} does not exist or is not a file")
    return path


def _check_port(value: int, field: str) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{field} must be a TCP port between 1 and 65535, got {value}")
    return value


class Settings(BaseSettings):
    """All settings of the service, the CLI and the embedded dev stack.

    Every field can be set in the YAML file (same name), as an environment variable
    `WFE_<NAME>` (e.g. `WFE_HTTP_PORT=8081`), or as a keyword to `load_settings`.
    """

    model_config = SettingsConfigDict(
        env_prefix="WFE_",
        env_nested_delimiter="__",
        # A misspelt key in the YAML file or a keyword override is an error, not silently ignored.
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Path(".wfe")
    """Directory for local state: the SQLite app database and the dev server's Temporal file."""
    database_url: str | None = None
    """SQLAlchemy async URL; None means SQLite in `data_dir` (see `effective_database_url`)."""
    redis_url: str | None = None
    """Redis URL for the definition cache and live events; None means in-process only."""
    temporal_address: str | None = None
    """host:port of the Temporal frontend; None means the local dev server on `temporal_port`."""
    temporal_namespace: str = "default"
    task_queue: str = "workflow-engine"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 9090
    temporal_port: int = 7233
    """Port of the dev server started by `wfe dev` (and the default address's port)."""
    temporal_ui_port: int | None = None
    """Port of the dev server's web UI; None means `temporal_port + 1000`."""
    temporal_http_port: int | None = None
    """Port of Temporal's HTTP API; None means `temporal_port + 10` (7243, the server's own
    default). `wfe dev` starts its dev server with it; the `http` task can never reach it."""
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "console"
    max_definition_bytes: int = 1_048_576
    max_definition_elements: int = 2000
    definition_cache_ttl_seconds: int = 3600
    max_request_bytes: int = 1_048_576
    """Largest request body the REST API reads (413 above it); definition uploads may be up to
    `max_definition_bytes` when that is larger."""
    max_header_bytes: int = 16_384
    """Largest total size of a request's headers (names + values) the REST API accepts; 431
    above it."""
    max_variables_bytes: int = 524_288
    """Largest variable payload (JSON size) of a start / complete / set / signal / message."""
    max_variable_value_bytes: int = 262_144
    """Largest JSON size of one variable's value in such a payload."""
    max_variable_depth: int = 32
    """Deepest nesting of objects / arrays in one variable's value (422 beyond it)."""
    max_steps_without_wait: int = 5000
    """Steps (element executions) an instance may take without waiting (user task, timer,
    message, activity...) before the next one becomes a `StepBudgetExceeded` incident; fixed
    per instance when it starts. See docs/security.md, "Execution budgets"."""
    max_instance_variables_bytes: int = 1_048_576
    """Largest JSON size of one variable, and of all of an instance's variables, that a script
    or service task may produce (`VariablesTooLarge` incident beyond it); fixed per instance."""
    rate_limit_per_minute: int = 600
    """Requests per minute one client (user, else IP) may make on average; 0 turns it off.
    Shared through Redis when `redis_url` is set, else counted in this process. On by
    default (10 a second on average) so one client cannot starve the others."""
    rate_limit_burst: int = 100
    """Requests one client may make at once on top of the steady rate (the bucket's size)."""
    cors_allowed_origins: Annotated[list[str], NoDecode] = []
    """Origins browsers may call the API from (`https://portal.example.com`, or `*`); empty:
    no CORS headers at all (same-origin only). From the environment comma-separated."""
    hsts_enabled: bool = False
    """Send Strict-Transport-Security (only behind HTTPS: browsers then refuse plain HTTP)."""
    examples_dir: Path | None = None
    """Directory of example definitions deployed by `wfe dev`; None means none."""
    activity_modules: Annotated[list[str], NoDecode] = []
    """User activity modules the worker serves: dotted module names or `.py` file paths
    (`WFE_ACTIVITY_MODULES=mypkg.acts,examples/activities.py`)."""
    listener_classes: Annotated[list[str], NoDecode] = []
    """Listener classes implemented by workers elsewhere (any Temporal language), in addition
    to the activities of `activity_modules`; other listeners are recorded as skipped."""
    worker_max_concurrent_activities: int = 100
    """How many activities one worker runs at the same time."""
    worker_max_concurrent_workflow_tasks: int = 100
    """How many workflow tasks one worker processes at the same time."""
    worker_graceful_shutdown_seconds: float = 5.0
    """On shutdown (SIGTERM / SIGINT), how long running activities may finish before they are
    cancelled; those ignoring the cancellation are abandoned 2 s later (docs/operations.md)."""
    worker_health_port: int | None = None
    """Port of `wfe worker`'s `/livez` and `/readyz` (on `http_host`); None: not served."""
    worker_database_check_seconds: float = 2.0
    """How often `wfe worker` probes its database while it runs."""
    worker_database_outage_seconds: float = 6.0
    """`wfe worker` stops polling and exits (code 1) when its database stays unreachable
    this long; readiness turns 503 at the first failed probe."""
    metrics_port: int | None = None
    """Port of the worker's own Prometheus endpoint (`wfe worker`); None: none. The API serves
    its registry at `/metrics` (`wfe dev`: worker and API share that one)."""
    otel_exporter_otlp_endpoint: str | None = None
    """OTLP/HTTP endpoint for OpenTelemetry traces (e.g. `http://collector:4318`); None: off."""
    history_ttl_days: int | None = None
    """Keep an ended instance's history this many days after its end; None keeps it forever."""
    history_cleanup_interval_minutes: int = 60
    """How often `wfe worker` / `wfe dev` delete expired history (with a retention set)."""
    history_cleanup_batch_size: int = 500
    """Ended instances deleted per cleanup transaction (1 .. 1000)."""
    reconcile_interval_seconds: float = 300.0
    """How often `wfe serve` / `wfe dev` compare open instances with Temporal and repair
    ghosts (instances whose workflow ended outside the engine); 0 turns the periodic run off
    (`wfe reconcile` and `POST /api/v1/admin/reconcile` still work)."""
    control_timeout_seconds: float = 10.0
    """How long pause / resume / terminate / cancel wait for the workflow's answer; a terminate
    or cancel the workflow does not take in time (busy, or its workflow task keeps failing)
    ends it through Temporal's own terminate instead."""
    request_outcome_ttl_days: int | None = 7
    """Keep the answers of signals / messages sent with a `request_id` this many days (a retry
    later than that acts again); None keeps them forever. Pruned with the history cleanup
    interval by `wfe worker` and `wfe dev`."""
    audit_log_ttl_days: int | None = None
    """Keep audit log entries this many days; None (default) keeps them forever."""
    stream_heartbeat_seconds: float = 15.0
    """Seconds between `: ping` comments on an idle live stream (SSE); each also re-reads the
    instance's event log, so a lost live message is found within one heartbeat."""
    stream_gap_grace_seconds: float = 30.0
    """How long the global live stream (`/api/v1/stream`) waits for an event row id it has not
    seen (a transaction still open, a publish lost with its worker) before it takes the id as
    absent. Must exceed the longest an event-writing transaction may stay open."""
    stream_queue_size: int = 1000
    """Live events one stream may have waiting; a slower client is dropped (it resumes with
    Last-Event-ID) rather than slowing the engine."""
    http_egress_allow: Annotated[list[str], NoDecode] = []
    """Destinations the built-in `http` task may reach although they are loopback, private,
    link-local or otherwise non-public, for every tenant: host names (`billing.internal`,
    `*.svc.cluster.local`), `host:port`, IP addresses or CIDR ranges (`10.20.0.0/16`,
    `10.20.0.0/16:8443`, `[fd00::/64]:443`). The engine's own ports stay unreachable. From the
    environment comma-separated."""
    http_egress_allow_by_tenant: dict[str, list[str]] = {}
    """Like `http_egress_allow`, per tenant id (`{"acme": ["10.1.0.0/16"]}`; from the
    environment as JSON). A tenant's entries add to the global ones."""
    http_egress_allow_public: bool = True
    """Whether the `http` task may reach public addresses without an allow-list entry; false:
    only allow-listed destinations."""
    http_max_response_bytes: int = 1_048_576
    """Largest response body (after decompression) the `http` task reads; larger answers fail
    with the non-retryable `HTTP_RESPONSE_TOO_LARGE` (results travel in workflow history)."""
    http_timeout_seconds: float = 30.0
    """Total time of one `http` task request, redirects and body included: the default, and
    the most a definition's `timeout_seconds` can ask for."""
    http_connect_timeout_seconds: float = 10.0
    """Longest wait for one TCP (and TLS) connection of the `http` task."""
    http_read_timeout_seconds: float = 30.0
    """Longest wait for the next bytes of a response of the `http` task."""
    http_max_redirects: int = 5
    """Redirects the `http` task follows (each hop checked by the egress policy)."""
    auth_enabled: bool = False
    """Require a bearer JWT on the REST API (/api/v1/*) and gRPC; off: every request acts as
    the all-powerful system principal (development only)."""
    auth_jwt_secret: SecretStr | None = None
    """Shared secret of HS256/384/512 tokens (at least 32 bytes); also what `wfe token` signs
    with. None: no HMAC tokens are accepted."""
    auth_jwks_url: str | None = None
    """Where the public keys of RS*/ES*/PS* tokens are: an http(s) URL of a JWKS document, a
    `file://` URL or a file path. None: no asymmetric tokens are accepted."""
    auth_jwks_cache_seconds: int = 300
    """How long fetched JWKS keys are reused; a token with an unknown `kid` refetches sooner."""
    auth_issuer: str | None = None
    """Required `iss` of every token; None: not checked."""
    auth_audience: str | None = None
    """Required `aud` of every token; None: tokens must carry no `aud`."""
    auth_algorithms: Annotated[list[str], NoDecode] = ["HS256", "RS256", "ES256"]
    """Signature algorithms accepted (`none` never is); from the environment comma-separated."""
    auth_leeway_seconds: int = 30
    """Clock skew tolerated when checking `exp`, `nbf` and `iat`."""
    auth_user_claim: str = "sub"
    """Claim holding the user id; a dotted path (`a.b`) reaches into nested claims."""
    auth_groups_claim: str = "groups"
    """Claim holding the user's groups (a list, or one comma / space separated string)."""
    auth_roles_claim: str = "roles"
    """Claim holding the roles, e.g. `realm_access.roles` for Keycloak."""
    auth_tenant_claim: str = "tenant_id"
    """Claim holding the tenant; absent means `auth_default_tenant`."""
    auth_default_tenant: str = ""
    """Tenant of a token that has no tenant claim ('' by default). Set it to the tenant your
    definitions declare (e.g. "default", as examples/user-registration.json does) when the
    identity provider issues no tenant claim."""
    encryption_keys: dict[str, SecretStr] = {}
    """AES-256 keys by key id, each base64 of 32 random bytes (`openssl rand -base64 32`):
    they encrypt sensitive variables in the database and every Temporal payload. Keep retired
    keys here until `wfe reencrypt` ran and old Temporal histories are gone. From the
    environment as JSON: `WFE_ENCRYPTION_KEYS='{"k2": "..."}'`. Empty: no encryption
    (`wfe dev` then creates a dev key in `data_dir`; see docs/security.md)."""
    encryption_active_key: str | None = None
    """The key id that encrypts new data; may be left unset when there is one key."""
    codec_cors_origins: Annotated[list[str], NoDecode] = []
    """Origins (the Temporal Web UI's, e.g. `http://127.0.0.1:8233`) allowed to call the payload
    codec endpoint `/codec/*` from a browser; `wfe dev` adds its own UI. Comma-separated."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: init kwargs > environment > YAML file > defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_file = resolve_config_file(_config_file_override.get())
        if yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)

    @field_validator(
        "database_url",
        "redis_url",
        "temporal_address",
        "otel_exporter_otlp_endpoint",
        "auth_jwt_secret",
        "auth_jwks_url",
        "auth_issuer",
        "auth_audience",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # `WFE_REDIS_URL=` (empty) is the natural way to switch an optional service off.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(
        "activity_modules",
        "listener_classes",
        "auth_algorithms",
        "http_egress_allow",
        mode="before",
    )
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        # From the environment a list is most naturally written comma-separated.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("worker_graceful_shutdown_seconds", "worker_database_outage_seconds")
    @classmethod
    def _not_negative(cls, value: float, info: Any) -> float:
        if not value >= 0:
            raise ValueError(f"{info.field_name} must be 0 or more seconds, got {value}")
        return value

    @field_validator("stream_heartbeat_seconds", "stream_gap_grace_seconds")
    @classmethod
    def _heartbeat_positive(cls, value: float, info: Any) -> float:
        if not value > 0:
            raise ValueError(f"{info.field_name} must be more than 0, got {value}")
        return value

    @field_validator("http_port", "grpc_port", "temporal_port")
    @classmethod
    def _port_range(cls, value: int, info: Any) -> int:
        return _check_port(value, info.field_name)

    @field_validator("worker_database_check_seconds")
    @classmethod
    def _check_interval_positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"worker_database_check_seconds must be more than 0, got {value}")
        return value

    @field_validator("temporal_ui_port", "metrics_port", "temporal_http_port", "worker_health_port")
    @classmethod
    def _optional_port_range(cls, value: int | None, info: Any) -> int | None:
        return None if value is None else _check_port(value, info.field_name)

    @field_validator(
        "http_timeout_seconds", "http_connect_timeout_seconds", "http_read_timeout_seconds"
    )
    @classmethod
    def _http_seconds_positive(cls, value: float, info: Any) -> float:
        if not value > 0 or value == float("inf"):
            raise ValueError(f"{info.field_name} must be a positive number of seconds, got {value}")
        return value

    @field_validator("http_max_response_bytes")
    @classmethod
    def _http_bytes_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"http_max_response_bytes must be at least 1, got {value}")
        return value

    @field_validator("http_max_redirects")
    @classmethod
    def _http_redirects_not_negative(cls, value: int) -> int:
        if not 0 <= value <= 50:
            raise ValueError(f"http_max_redirects must be between 0 and 50, got {value}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _normalise_log_level(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        level = value.strip().upper()
        level = _LOG_LEVEL_ALIASES.get(level, level)
        if level not in _LOG_LEVELS:
            raise ValueError(
                f"log_level must be one of {', '.join(_LOG_LEVELS)} (any case), got {value!r}"
            )
        return level

    @field_validator(
        "max_definition_bytes",
        "max_definition_elements",
        "worker_max_concurrent_activities",
        "worker_max_concurrent_workflow_tasks",
        "stream_queue_size",
    )
    @classmethod
    def _positive(cls, value: int, info: Any) -> int:
        if value < 1:
            raise ValueError(f"{info.field_name} must be at least 1, got {value}")
        return value

    @field_validator("definition_cache_ttl_seconds")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"definition_cache_ttl_seconds must be 0 or more, got {value}")
        return value

    @field_validator(
        "max_request_bytes",
        "max_header_bytes",
        "max_variables_bytes",
        "max_variable_value_bytes",
        "max_variable_depth",
        "rate_limit_burst",
        "max_steps_without_wait",
        "max_instance_variables_bytes",
    )
    @classmethod
    def _limit_positive(cls, value: int, info: Any) -> int:
        if value < 1:
            raise ValueError(f"{info.field_name} must be at least 1, got {value}")
        return value

    @field_validator("request_outcome_ttl_days", "audit_log_ttl_days")
    @classmethod
    def _ttl_positive(cls, value: int | None, info: Any) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"{info.field_name} must be at least 1 day (or unset), got {value}")
        return value

    @field_validator("rate_limit_per_minute")
    @classmethod
    def _rate_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"rate_limit_per_minute must be 0 (off) or more, got {value}")
        return value

    @field_validator("cors_allowed_origins", "codec_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_allowed_origins", "codec_cors_origins")
    @classmethod
    def _origins_well_formed(cls, value: list[str], info: Any) -> list[str]:
        for origin in value:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"{info.field_name} entries must be '*' or scheme://host[:port] without a "
                    f"path, got {origin!r}"
                )
        return value

    @field_validator("history_ttl_days")
    @classmethod
    def _ttl_not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"history_ttl_days must be 0 or more days (or unset), got {value}")
        return value

    @field_validator("history_cleanup_interval_minutes")
    @classmethod
    def _interval_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"history_cleanup_interval_minutes must be at least 1, got {value}")
        return value

    @field_validator("reconcile_interval_seconds")
    @classmethod
    def _reconcile_interval_not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"reconcile_interval_seconds must be 0 (off) or more, got {value}")
        return value

    @field_validator("control_timeout_seconds")
    @classmethod
    def _control_timeout_positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"control_timeout_seconds must be more than 0, got {value}")
        return value

    @field_validator("history_cleanup_batch_size")
    @classmethod
    def _batch_in_range(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError(f"history_cleanup_batch_size must be between 1 and 1000, got {value}")
        return value

    @field_validator("auth_algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in _AUTH_ALGORITHMS]
        if unknown:
            raise ValueError(
                f"auth_algorithms: {', '.join(map(repr, unknown))} not supported (choose from "
                f"{', '.join(_AUTH_ALGORITHMS)}; unsigned 'none' tokens are never accepted)"
            )
        if not value:
            raise ValueError("auth_algorithms must name at least one algorithm")
        return value

    @field_validator("auth_jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # A short HMAC key can be brute-forced offline from any one token (RFC 7518 §3.2).
        if value is not None and len(value.get_secret_value().encode()) < _MIN_SECRET_BYTES:
            raise ValueError(
                f"auth_jwt_secret must be at least {_MIN_SECRET_BYTES} bytes long "
                "(e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator(
        "auth_user_claim", "auth_groups_claim", "auth_roles_claim", "auth_tenant_claim"
    )
    @classmethod
    def _claim_named(cls, value: str, info: Any) -> str:
        if not value.strip() or any(not part for part in value.split(".")):
            raise ValueError(
                f"{info.field_name} must be a claim name or dotted path, got {value!r}"
            )
        return value

    @field_validator("auth_jwks_cache_seconds", "auth_leeway_seconds")
    @classmethod
    def _auth_seconds_not_negative(cls, value: int, info: Any) -> int:
        if value < 0:
            raise ValueError(f"{info.field_name} must be 0 or more seconds, got {value}")
        return value

    @model_validator(mode="after")
    def _auth_has_keys(self) -> Settings:
        if self.auth_enabled and self.auth_jwt_secret is None and self.auth_jwks_url is None:
            raise ValueError(
                "auth_enabled is true but no key to check tokens with: set auth_jwt_secret "
                "(WFE_AUTH_JWT_SECRET) for HS256 tokens and/or auth_jwks_url (WFE_AUTH_JWKS_URL) "
                "for RS256 / ES256 tokens"
            )
        return self

    @model_validator(mode="after")
    def _encryption_keys_usable(self) -> Settings:
        try:
            self.encryption_key_ring()
        except KeyRingError as exc:
            raise ValueError(str(exc)) from None
        return self

    @model_validator(mode="after")
    def _derived_ui_port_fits(self) -> Settings:
        if self.temporal_ui_port is None and self.temporal_port + 1000 > 65535:
            raise ValueError(
                f"temporal_ui_port defaults to temporal_port + 1000 = {self.temporal_port + 1000},"
                " which is not a valid port: set temporal_ui_port explicitly"
            )
        return self

    def __repr_args__(self) -> Any:
        # Settings get logged and printed (debugging, error reports): URLs never show their
        # passwords there; SecretStr fields already render as '**********'.
        for name, value in super().__repr_args__():
            if name in _URL_FIELDS and isinstance(value, str):
                yield name, redact_url(value)
            else:
                yield name, value

    def encryption_key_ring(self) -> KeyRing | None:
        """The configured keys as a ring (None without keys).

        Raises:
            KeyRingError: a key is malformed or the active key is unclear.
        """
        return KeyRing.from_texts(
            {kid: key.get_secret_value() for kid, key in self.encryption_keys.items()},
            self.encryption_active_key,
        )

    @property
    def effective_database_url(self) -> str:
        """`database_url`, or SQLite (aiosqlite) at `<data_dir>/wfe.db` when it is unset."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'wfe.db').as_posix()}"

    @property
    def effective_temporal_address(self) -> str:
        """`temporal_address`, or `127.0.0.1:<temporal_port>` (the local dev server)."""
        if self.temporal_address is not None:
            return self.temporal_address
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_temporal_ui_port(self) -> int:
        """`temporal_ui_port`, or `temporal_port + 1000` like the Temporal CLI does."""
        if self.temporal_ui_port is not None:
            return self.temporal_ui_port
        return self.temporal_port + 1000

    @property
    def effective_temporal_http_port(self) -> int:
        """`temporal_http_port`, or `temporal_port + 10` (7243, Temporal's default)."""
        if self.temporal_http_port is not None:
            return self.temporal_http_port
        return self.temporal_port + 10

    @property
    def temporal_db_file(self) -> Path:
        """Where `wfe dev` keeps the dev server's Temporal state: `<data_dir>/temporal.db`."""
        return self.data_dir / "temporal.db"


def redact_url(url: str) -> str:
    """`url` with the password of its user-info part replaced by `***` (others unchanged).

    `postgresql+psycopg://app:s3cret@db/wfe` -> `postgresql+psycopg://app:***@db/wfe`;
    `redis://:s3cret@cache:6379/0` -> `redis://:***@cache:6379/0`.
    """
    return _URL_PASSWORD.sub(r"\1***\2", url)


def load_settings(*, config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Load the settings from every source.

    Args:
        config_file: YAML file to read instead of `$WFE_CONFIG` / `configs/config.yaml`.
        **overrides: Field values that win over every other source (e.g. CLI options);
            None values are dropped so an unset CLI option does not mask the environment.

    Returns:
        The validated settings.

    Raises:
        ConfigError: A named settings file is missing or unreadable, or a value is invalid;
            the message lists each offending field and why.

    """
    kwargs = {name: value for name, value in overrides.items() if value is not None}
    token = _config_file_override.set(None if config_file is None else Path(config_file))
    try:
        return Settings(**kwargs)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"the settings file is not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the settings file: {exc}") from exc
    finally:
        _config_file_override.reset(token)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        # Our validators' messages start with "Value error, "; the field is named already.
        message = message.removeprefix("Value error, ")
        lines.append(f"{field}: {message}")
    return "invalid settings:\n  " + "\n  ".join(lines)
