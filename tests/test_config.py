"""Settings precedence, file selection and validation messages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from workflow_engine.config import ConfigError, Settings, load_settings, resolve_config_file


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No WFE_* variable from the caller's shell, and a working directory with no config."""
    for name in list(os.environ):
        if name.startswith("WFE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_file_or_env() -> None:
    s = load_settings()
    assert s.data_dir == Path(".wfe")
    assert s.database_url is None
    assert s.effective_database_url == "sqlite+aiosqlite:///.wfe/wfe.db"
    assert s.redis_url is None
    assert s.effective_temporal_address == "127.0.0.1:7233"
    assert s.effective_temporal_ui_port == 8233
    assert s.temporal_namespace == "default"
    assert s.task_queue == "workflow-engine"
    assert (s.http_host, s.http_port, s.grpc_port) == ("127.0.0.1", 8080, 9090)
    assert (s.log_level, s.log_format) == ("INFO", "console")
    assert s.max_definition_bytes == 1_048_576
    assert s.max_definition_elements == 2000
    assert s.definition_cache_ttl_seconds == 3600
    assert s.examples_dir is None
    assert s.temporal_db_file == Path(".wfe/temporal.db")


def test_derived_values_follow_their_inputs() -> None:
    s = load_settings(data_dir="/var/lib/wfe", temporal_port=7300)
    assert s.effective_database_url == "sqlite+aiosqlite:////var/lib/wfe/wfe.db"
    assert s.effective_temporal_address == "127.0.0.1:7300"
    assert s.effective_temporal_ui_port == 8300
    s = load_settings(
        database_url="postgresql+psycopg://u@h/db",
        temporal_address="temporal:7233",
        temporal_ui_port=9999,
    )
    assert s.effective_database_url == "postgresql+psycopg://u@h/db"
    assert s.effective_temporal_address == "temporal:7233"
    assert s.effective_temporal_ui_port == 9999


def test_default_file_in_cwd_is_read(tmp_path: Path) -> None:
    write(tmp_path / "configs" / "config.yaml", "http_port: 8181\nlog_format: json\n")
    s = load_settings()
    assert s.http_port == 8181
    assert s.log_format == "json"


def test_env_beats_yaml_beats_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "configs" / "config.yaml",
        "http_port: 8181\ngrpc_port: 9191\nredis_url: redis://yaml:6379/0\n",
    )
    monkeypatch.setenv("WFE_HTTP_PORT", "8282")
    monkeypatch.setenv("WFE_LOG_LEVEL", "debug")
    s = load_settings()
    assert s.http_port == 8282  # env over yaml
    assert s.grpc_port == 9191  # yaml over default
    assert s.redis_url == "redis://yaml:6379/0"
    assert s.log_level == "DEBUG"  # env over default, normalised
    assert s.temporal_port == 7233  # default


def test_init_kwargs_beat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFE_HTTP_PORT", "8282")
    assert load_settings(http_port=8383).http_port == 8383
    assert Settings(http_port=8484).http_port == 8484
    # An unset CLI option (None) does not mask the environment.
    assert load_settings(http_port=None).http_port == 8282


def test_wfe_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "configs" / "config.yaml", "http_port: 8181\n")
    other = write(tmp_path / "elsewhere" / "prod.yaml", "http_port: 8000\ntask_queue: prod-q\n")
    monkeypatch.setenv("WFE_CONFIG", str(other))
    s = load_settings()
    assert (s.http_port, s.task_queue) == (8000, "prod-q")
    assert resolve_config_file() == other


def test_explicit_config_file_beats_wfe_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFE_CONFIG", str(write(tmp_path / "a.yaml", "http_port: 8001\n")))
    explicit = write(tmp_path / "b.yaml", "http_port: 8002\n")
    assert load_settings(config_file=explicit).http_port == 8002
    # The override applies to that call only.
    assert load_settings().http_port == 8001


def test_missing_wfe_config_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFE_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match=r"WFE_CONFIG: settings file .*nope\.yaml.* does not"):
        load_settings()


def test_empty_or_all_comment_file_gives_defaults(tmp_path: Path) -> None:
    write(tmp_path / "configs" / "config.yaml", "# nothing set\n")
    assert load_settings().http_port == 8080


def test_shipped_example_config_matches_the_defaults() -> None:
    shipped = Path(__file__).resolve().parents[1] / "configs" / "config.yaml"
    assert load_settings(config_file=shipped) == load_settings()
    # Uncommenting every setting must give the same values as the defaults: the comments
    # document the real defaults.
    setting_line = re.compile(r"^# ([a-z_]+: .*)$")
    uncommented = "\n".join(
        m.group(1) for line in shipped.read_text().splitlines() if (m := setting_line.match(line))
    )
    example = Path("uncommented.yaml")
    example.write_text(uncommented + "\n")
    s = load_settings(config_file=example)
    assert s == load_settings()
    assert set(Settings.model_fields) <= {
        line.split(":")[0] for line in uncommented.splitlines()
    }, "every setting is documented in configs/config.yaml"


@pytest.mark.parametrize(
    ("field", "value"),
    [("http_port", 0), ("grpc_port", 70000), ("temporal_port", -1), ("temporal_ui_port", 65536)],
)
def test_invalid_port_is_named(field: str, value: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**{field: value})
    message = str(info.value)
    assert f"{field}: {field} must be a TCP port between 1 and 65535, got {value}" in message


def test_invalid_port_from_env_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFE_HTTP_PORT", "99999")
    with pytest.raises(ConfigError, match="http_port must be a TCP port between 1 and 65535"):
        load_settings()
    monkeypatch.setenv("WFE_HTTP_PORT", "eighty")
    with pytest.raises(ConfigError, match="http_port: Input should be a valid integer"):
        load_settings()


def test_settings_class_raises_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="grpc_port must be a TCP port"):
        Settings(grpc_port=0)


def test_derived_ui_port_out_of_range_is_explained() -> None:
    with pytest.raises(ConfigError, match="set temporal_ui_port explicitly"):
        load_settings(temporal_port=65000)
    assert load_settings(temporal_port=65000, temporal_ui_port=65001).temporal_ui_port == 65001


def test_log_level_is_validated_and_normalised() -> None:
    assert load_settings(log_level="warn").log_level == "WARNING"
    assert load_settings(log_level=" error ").log_level == "ERROR"
    with pytest.raises(ConfigError, match="log_level: log_level must be one of DEBUG, INFO"):
        load_settings(log_level="loud")


def test_log_format_is_validated() -> None:
    with pytest.raises(ConfigError, match="log_format: Input should be 'json' or 'console'"):
        load_settings(log_format="xml")


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    write(tmp_path / "configs" / "config.yaml", "http_prot: 8181\n")
    with pytest.raises(ConfigError, match="http_prot: unknown setting"):
        load_settings()


def test_malformed_yaml_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "configs" / "config.yaml", "http_port: [8181\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings()


def test_empty_env_value_unsets_optional_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFE_REDIS_URL", "")
    monkeypatch.setenv("WFE_DATABASE_URL", "  ")
    s = load_settings(config_file=write(Path("c.yaml"), "redis_url: redis://x:6379/0\n"))
    assert s.redis_url is None
    assert s.database_url is None


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_definition_bytes must be at least 1, got 0"):
        load_settings(max_definition_bytes=0)
    with pytest.raises(ConfigError, match="definition_cache_ttl_seconds must be 0 or more"):
        load_settings(definition_cache_ttl_seconds=-5)
