"""Webhooks on a real local HTTP server: sent on opening, repeated only after the interval,
silenced by an acknowledgement, told once of the resolution; a failing webhook never stops
the engine and is retried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import structlog
from sqlalchemy.engine import Engine

from possettle.clock import FixedClock
from possettle.monitor.alerts import EngineConfig, acknowledge, evaluate_alerts
from possettle.monitor.webhook import deliver, where
from tests.monitor.conftest import Fleet
from tests.monitor.test_alerts import region_dark


class Hook:
    """A webhook receiver: records each POSTed JSON body, answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def states(self) -> list[list[str]]:
        return [[a["state"] for a in body["alerts"]] for body in self.bodies]


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    h.thread.start()
    try:
        yield h
    finally:
        h.server.shutdown()
        h.server.server_close()
        h.thread.join(timeout=5)


def test_webhook_hears_an_incident_once_per_repeat_interval(
    engine: Engine, fleet: Fleet, clock: FixedClock, hook: Hook
) -> None:
    config = EngineConfig(webhooks=(hook.url,), repeat=timedelta(minutes=10), timeout=2)
    region_dark(fleet)
    first = evaluate_alerts(engine, clock, config)
    assert hook.states() == [["firing"]]
    alert = hook.bodies[0]["alerts"][0]
    assert alert["rule"] == "PossettleRegionDark" and alert["id"] == first.opened[0].id
    assert alert["terminals"] == ["SHA10000", "SHA10001", "SHA10002", "SHA10003"]
    fleet.later(5)
    evaluate_alerts(engine, clock, config)
    assert len(hook.bodies) == 1  # inside the repeat interval: quiet
    fleet.later(6)
    assert evaluate_alerts(engine, clock, config).notified == (first.opened[0].id,)
    assert hook.states() == [["firing"], ["firing"]]


def test_an_acknowledged_incident_stops_repeating_but_its_resolution_is_sent(
    engine: Engine, fleet: Fleet, clock: FixedClock, hook: Hook
) -> None:
    config = EngineConfig(webhooks=(hook.url,), repeat=timedelta(minutes=10), timeout=2)
    region_dark(fleet)
    (alert,) = evaluate_alerts(engine, clock, config).opened
    with engine.begin() as conn:
        acknowledge(conn, alert.id, by="alice", note="known", at=clock.now())
    fleet.later(30)
    evaluate_alerts(engine, clock, config)
    assert hook.states() == [["firing"]]
    fleet.seen()
    fleet.later(1)
    evaluate_alerts(engine, clock, config)
    assert hook.states() == [["firing"], ["resolved"]]
    assert hook.bodies[1]["alerts"][0]["ack_note"] == "known"
    fleet.later(10)
    evaluate_alerts(engine, clock, config)
    assert len(hook.bodies) == 2


def test_a_failing_webhook_is_logged_and_retried_never_fatal(
    engine: Engine, fleet: Fleet, clock: FixedClock, hook: Hook
) -> None:
    config = EngineConfig(webhooks=(hook.url,), repeat=timedelta(hours=4), timeout=2)
    region_dark(fleet)
    hook.status = 500
    with structlog.testing.capture_logs() as logs:
        outcome = evaluate_alerts(engine, clock, config)
    assert len(outcome.opened) == 1 and outcome.notified == ()
    assert logs[0]["event"] == "webhook_failed" and logs[0]["error"] == "HTTPError"
    assert "secret" not in json.dumps(logs)  # the URL's path and query stay out of logs
    hook.status = 200
    fleet.later(1)
    assert evaluate_alerts(engine, clock, config).notified == (outcome.opened[0].id,)
    assert len(hook.bodies) == 2


def test_an_unreachable_webhook_times_out_quietly(hook: Hook) -> None:
    hook.server.shutdown()
    hook.server.server_close()
    with structlog.testing.capture_logs() as logs:
        sent = deliver([hook.url, "ftp://example.org/x"], {"alerts": []}, timeout=0.5)
    assert sent == 0
    assert [e["error"] for e in logs] == ["URLError", "ConfigError"]


def test_where_keeps_only_scheme_and_host() -> None:
    assert (
        where("https://hooks.example.com:8443/T0/B1/secret?x=1") == "https://hooks.example.com:8443"
    )
