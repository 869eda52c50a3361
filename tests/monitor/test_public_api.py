"""The monitor's public API, pinned: the console (possettle.console.bridge) and the host call
exactly these names and signatures, so changing one must be a deliberate act."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from possettle.monitor import alerts, audit, metrics, store

API: list[tuple[Callable[..., Any], str]] = [
    (metrics.render_metrics,
     "(engine: 'Engine', *, acquirer: 'str' = 'default', clock: 'Clock | None' = None, "
     "thresholds: 'Thresholds | None' = None, host: 'HostMetrics | None' = None) -> 'bytes'"),
    (metrics.HostMetrics.observe_request, "(self, kind: 'str', seconds: 'float') -> 'None'"),
    (metrics.HostMetrics.observe_upstream,
     "(self, connector: 'str', seconds: 'float') -> 'None'"),
    (metrics.HostTelemetry.expose,
     "(self, engine: 'Engine', *, clock: 'Clock', acquirer: 'str', addr: 'str', port: 'int') "
     "-> 'MetricsServer'"),
    (alerts.list_alerts,
     "(conn: 'Connection', *, statuses: 'Collection[AlertStatus] | None' = None, "
     "limit: 'int' = 200) -> 'list[Alert]'"),
    (alerts.get_alert, "(conn: 'Connection', alert_id: 'int') -> 'Alert'"),
    (alerts.acknowledge,
     "(conn: 'Connection', alert_id: 'int', *, by: 'str', note: 'str', at: 'datetime') "
     "-> 'Alert'"),
    (alerts.resolve, "(conn: 'Connection', alert_id: 'int', *, at: 'datetime') -> 'Alert'"),
    (alerts.evaluate_alerts,
     "(engine: 'Engine', clock: 'Clock', config: 'EngineConfig | None' = None, "
     "sender: 'Sender' = <function post_json>) -> 'Outcome'"),
    (audit.record,
     "(conn: 'Connection', actor: 'str', action: 'str', target: 'str', "
     "detail: 'str | Mapping[str, Any]', at: 'datetime') -> 'AuditEntry'"),
    (audit.verify, "(conn: 'Connection') -> 'tuple[bool, int | None]'"),
    (audit.head, "(conn: 'Connection') -> 'str'"),
]  # fmt: skip


@pytest.mark.parametrize(("func", "signature"), API, ids=[f.__qualname__ for f, _ in API])
def test_signature_is_pinned(func: Callable[..., Any], signature: str) -> None:
    text = str(inspect.signature(func))
    text = text.replace(f" at {hex(id(alerts.post_json))}", "")
    assert text == signature


def test_the_names_the_console_imports_exist() -> None:
    assert metrics.CONTENT_TYPE.startswith("text/plain; version=")
    assert alerts.Alert is store.Alert
    assert issubclass(alerts.AlertError, Exception)
    assert set(alerts.__all__) >= {"Alert", "AlertError", "acknowledge", "list_alerts", "resolve"}
