"""deployments/k8s: both overlays render, validate, and agree with the code they deploy.

Every rendered document is checked against the Kubernetes OpenAPI schemas
(kubernetes-validate, strict: unknown fields fail). The Prometheus Operator's kinds have no
schema there, so ServiceMonitor and PrometheusRule are checked structurally here: required
fields, scraped ports that exist, and alert expressions that parse (balanced, with known
functions) and use only metrics and labels the engine really exports.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from workflow_engine.api.rest import health
from workflow_engine.config import Settings, load_settings
from workflow_engine.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deployments" / "k8s"
OVERLAYS = ["dev", "prod"]
#: Oldest Kubernetes release the manifests target, and the newest the schemas know.
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
#: The uid the Dockerfile creates (runAsUser must be it: the image has no other user).
IMAGE_UID = int(
    re.search(r"^USER (\d+)", (ROOT / "deployments/docker/Dockerfile").read_text(), re.M)[1]  # type: ignore[index]
)
#: Alerts the issue asks for, each with the metric it must be built on.
REQUIRED_ALERTS = {
    "WfeIncidentsRising": "wfe_incidents_total",
    "WfeProjectionWriteLagHigh": "wfe_event_log_write_lag_seconds_bucket",
    "WfeApiLatencyP99OverBudget": "wfe_api_request_duration_seconds_bucket",
    "WfeNoWorkerPolling": "wfe_worker_pollers",
    "WfeTemporalUnreachable": "wfe_temporal_reachable",
}
#: Labels Prometheus (Operator) adds to every scraped series.
TARGET_LABELS = {"namespace", "pod", "service", "job", "instance", "container", "endpoint"}
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate",
    "histogram_quantile", "absent", "max_over_time", "min_over_time", "offset", "or", "and",
    "unless", "on", "ignoring", "le", "up", "e",
}  # fmt: skip


def _exported() -> dict[str, tuple[str, ...]]:
    """Sample name -> label names of every metric the engine registers."""
    samples: dict[str, tuple[str, ...]] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        name, kind, labels = value._name, value._type, tuple(value._labelnames)
        if kind == "counter":
            samples[f"{name}_total"] = labels
        elif kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                samples[name + suffix] = (*labels, "le") if suffix == "_bucket" else labels
        else:
            samples[name] = labels
    return samples


EXPORTED = _exported()


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is needed to render deployments/k8s (kubectl kustomize)")
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / request.param)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return request.param, documents


def _one(documents: list[dict[str, Any]], kind: str, prefix: str) -> dict[str, Any]:
    found = [d for d in documents if d["kind"] == kind and d["metadata"]["name"].startswith(prefix)]
    assert len(found) == 1, f"expected one {kind} {prefix}*, found {len(found)}"
    return found[0]


def test_every_document_validates_against_the_kubernetes_schemas(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, documents = rendered
    kinds = {d["kind"] for d in documents}
    assert kinds >= {
        "Namespace", "ServiceAccount", "ConfigMap", "Secret", "Deployment", "Service", "Job",
        "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler", *CUSTOM_KINDS,
    }  # fmt: skip
    for document in documents:
        if document["kind"] in CUSTOM_KINDS:
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_an_invalid_document() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_pods_are_non_root_probed_and_bounded(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, documents = rendered
    health_paths = {route.path for route in health.router.routes}  # type: ignore[attr-defined]
    pods = [
        _one(documents, "Deployment", "wfe-api")["spec"]["template"]["spec"],
        _one(documents, "Deployment", "wfe-worker")["spec"]["template"]["spec"],
        _one(documents, "Job", "wfe-migrate")["spec"]["template"]["spec"],
    ]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID
        (container,) = pod["containers"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["args"][0] in {"serve", "worker", "migrate"}
    api = pods[0]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= health_paths
    worker = pods[1]["containers"][0]
    env = {e["name"]: e["value"] for e in worker["env"]}
    (port,) = worker["ports"]
    assert int(env["WFE_METRICS_PORT"]) == port["containerPort"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/metrics", "port": port["name"]}
    # Stopping workers may finish running activities before they are killed.
    grace = float(env["WFE_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert pods[1]["terminationGracePeriodSeconds"] > grace


def test_budgets_and_autoscalers_target_the_deployments(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, documents = rendered
    for component in ("api", "worker"):
        deployment = _one(documents, "Deployment", f"wfe-{component}")
        selector = deployment["spec"]["selector"]["matchLabels"]
        pdb = _one(documents, "PodDisruptionBudget", f"wfe-{component}")
        assert pdb["spec"]["selector"]["matchLabels"] == selector
        hpa = _one(documents, "HorizontalPodAutoscaler", f"wfe-{component}")
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"]
        assert hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        if deployment["spec"]["replicas"] == 1:
            # minAvailable 1 of one replica would block every node drain.
            assert "minAvailable" not in pdb["spec"]


def test_settings_are_real_settings_and_load(
    rendered: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, documents = rendered
    config_map = _one(documents, "ConfigMap", "wfe-settings")
    config, config_name = config_map["data"], config_map["metadata"]["name"]
    secret = _one(documents, "Secret", "wfe-secrets")
    assert secret["type"] == "Opaque"
    secrets = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    worker = _one(documents, "Deployment", "wfe-worker")["spec"]["template"]["spec"]
    worker_env = {e["name"]: e["value"] for e in worker["containers"][0]["env"]}
    values = {**config, **secrets, **worker_env}
    unknown = [k for k in values if k[4:].lower() not in Settings.model_fields]
    assert not unknown, f"not settings (typo?): {unknown}"
    for key in list(values):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()  # every value valid, together (e.g. auth needs its keys)
    assert settings.http_host == "0.0.0.0"
    assert settings.database_url is not None and settings.database_url.startswith("postgresql")
    # Every pod reads the same generated ConfigMap and Secret.
    for kind, prefix in (("Deployment", "wfe-api"), ("Deployment", "wfe-worker"), ("Job", "")):
        pod = _one(documents, kind, prefix or "wfe-migrate")["spec"]["template"]["spec"]
        refs = pod["containers"][0]["envFrom"]
        assert refs == [
            {"configMapRef": {"name": config_name}},
            {"secretRef": {"name": secret["metadata"]["name"]}},
        ]


def test_service_ingress_and_service_monitor_fit_together(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, documents = rendered
    services = [d for d in documents if d["kind"] == "Service"]
    api_service = _one(documents, "Service", "wfe-api")
    ingress = _one(documents, "Ingress", "wfe-api")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == api_service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in api_service["spec"]["ports"]}

    monitor = _one(documents, "ServiceMonitor", "workflow-engine")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    wanted = monitor["spec"]["selector"]["matchLabels"]
    selected = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()]
    assert {s["metadata"]["name"] for s in selected} == {"wfe-api", "wfe-worker-metrics"}
    port_names = {p["name"] for s in selected for p in s["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"


def test_alert_rules_use_metrics_the_engine_exports(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, documents = rendered
    rule = _one(documents, "PrometheusRule", "workflow-engine")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(REQUIRED_ALERTS) <= set(alerts)
    for name, alert in alerts.items():
        expr = alert["expr"]
        assert alert["labels"]["severity"] in {"warning", "critical"}, name
        assert alert["annotations"]["summary"] and alert["annotations"]["description"], name
        assert re.fullmatch(r"\d+[smh]", alert["for"]), name
        check_promql(expr)
        if name in REQUIRED_ALERTS:
            assert REQUIRED_ALERTS[name] in expr, name


def check_promql(expr: str) -> None:
    """Structural check of a PromQL expression (no PromQL parser is installed here).

    Brackets balance; every selector names a metric the engine exports (or `up`); its label
    matchers and `by (...)` labels are labels of those metrics or of the scrape target.
    """
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in re.sub(r'"[^"]*"', '""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char], f"unbalanced {char!r} in {expr}"
    assert not stack, f"unclosed {stack} in {expr}"

    used = [m for m in re.findall(r"\b(wfe_[a-z0-9_]+)", expr)]
    assert used or "up{" in expr, f"no engine metric in {expr}"
    labels: set[str] = set(TARGET_LABELS)
    for metric in used:
        assert metric in EXPORTED, f"{metric} is not exported by observability/metrics.py"
        labels.update(EXPORTED[metric])
    for matchers in re.findall(r"\{([^}]*)\}", re.sub(r'"[^"]*"', '""', expr)):
        for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matchers):
            assert label in labels, f"label {label!r} not on {used} in {expr}"
    for grouping in re.findall(r"\bby\s*\(([^)]*)\)", expr):
        for label in (part.strip() for part in grouping.split(",")):
            assert label in labels, f"by ({label}) is not a label of {used} in {expr}"
    words = set(re.findall(r"\b([a-z_]+)\s*\(", expr))
    assert words <= PROMQL_WORDS, f"unknown functions {words - PROMQL_WORDS} in {expr}"


def test_the_promql_check_catches_mistakes() -> None:
    with pytest.raises(AssertionError, match="not exported"):
        check_promql("sum(rate(wfe_incident_total[5m])) > 0")
    with pytest.raises(AssertionError, match="label 'queue'"):
        check_promql('wfe_worker_pollers{queue="x"} < 1')
    with pytest.raises(AssertionError, match="unclosed"):
        check_promql("sum(rate(wfe_incidents_total[5m]) > 0")
    with pytest.raises(AssertionError, match="unbalanced"):
        check_promql("sum(rate(wfe_incidents_total[5m)) > 0")
    with pytest.raises(AssertionError, match=r"by \(route\)"):
        check_promql("sum by (route) (wfe_open_incidents)")
