"""Prometheus metrics for ``/metrics``: the ledger read at scrape time, plus host latencies.

The ledger is the source of truth shared by every host process, so fleet figures are not
counted in process memory (several processes would each see a part) but read by a collector
when Prometheus scrapes. Labels are bounded: acquirer, region, model, software version, kind,
response-code class, result, step, cause and group; never a TID or a PAN.

The console mounts it like this (the response body and its content type)::

    body = render_metrics(engine, acquirer="00010000")
    return Response(body, media_type=CONTENT_TYPE)

A host process serves its own (``possettle host serve --metrics-port``): the same ledger
figures plus its request and issuer latency histograms, which live in its memory. The host
reports through its own observer interface (:mod:`possettle.host.observer`) and imports
nothing from here: :class:`HostMetrics` is such an observer, :class:`HostTelemetry` the
telemetry whoever starts the host hands to :func:`~possettle.host.server.serve`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Histogram, generate_latest, start_http_server
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from possettle.clock import Clock, SystemClock
from possettle.iso8583.classify import MessageKind
from possettle.ledger.engine import READ_ONLY
from possettle.monitor.readings import (
    OTHER,
    Readings,
    TerminalReading,
    Thresholds,
    cause_label,
    group_label,
    read,
    step_label,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Message kinds the host may time; anything else is filed under "other" so a caller cannot
# grow the label set.
# message kinds, plus frames the host could not decode
HOST_KINDS = frozenset(k.value for k in MessageKind) | {"format_error"}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class LedgerCollector(Collector):
    """Reads the ledger on every scrape (one read-only transaction) and yields the families."""

    def __init__(
        self, engine: Engine, *, acquirer: str, clock: Clock, thresholds: Thresholds
    ) -> None:
        self._engine = engine
        self._acquirer = acquirer
        self._clock = clock
        self._thresholds = thresholds

    def describe(self) -> Iterable[Metric]:
        return []  # no ledger reads at registration time

    def collect(self) -> Iterator[Metric]:
        with self._engine.connect() as conn, conn.execution_options(**{READ_ONLY: True}).begin():
            readings = read(conn, self._clock.now(), self._thresholds)
        yield from families(readings, self._acquirer)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=["acquirer", *labels])


def families(r: Readings, acquirer: str) -> list[Metric]:
    """The metric families of one reading (pure: tests and the collector share it)."""
    tx = CounterMetricFamily(
        "possettle_transactions",
        "Requests answered by the host, by message kind, response-code class (A-E) and the"
        " cause the code points at (iso8583/codes.py).",
        labels=["acquirer", "region", "kind", "rc_class", "rc_cause"],
    )
    tx_sum: Counter[tuple[str, str, str, str]] = Counter()
    for c in r.requests_total:
        tx_sum[(c.region, c.kind, c.rc_class, c.rc_cause)] += c.count
    for (region, kind, cls, cause), n in sorted(tx_sum.items()):
        tx.add_metric([acquirer, region, kind, cls, cause], n)

    settled = _gauge(
        "possettle_settlement_batches",
        "Batches by settlement result: open ones, and those settled in the last 24 hours.",
        ["region", "result"],
    )
    results = Counter((b.region, b.result) for b in r.batches)
    for (region, result), n in sorted(results.items()):
        settled.add_metric([acquirer, region, result], n)

    age_max = _gauge(
        "possettle_open_batch_age_seconds_max", "Age of the oldest open batch.", ["region"]
    )
    age_avg = _gauge(
        "possettle_open_batch_age_seconds_avg", "Mean age of the open batches.", ["region"]
    )
    ages: defaultdict[str, list[float]] = defaultdict(list)
    for b in r.batches:
        if b.result == "open" and b.first_entry_at is not None:
            ages[b.region].append(max(0.0, (r.now - b.first_entry_at).total_seconds()))
    for region, values in sorted(ages.items()):
        age_max.add_metric([acquirer, region], max(values))
        age_avg.add_metric([acquirer, region], sum(values) / len(values))

    pending = _gauge(
        "possettle_pending_reversals",
        "Reversals waiting on terminals, as their last reports say (where reported).",
        ["region"],
    )
    offline = _gauge(
        "possettle_offline_items",
        "Offline items waiting to be uploaded, as the terminals' last reports say.",
        ["region"],
    )
    rev: Counter[str] = Counter()
    off: Counter[str] = Counter()
    for rep in r.reports:
        if rep.pending_reversals is not None:
            rev[rep.region] += rep.pending_reversals
        if rep.offline_items is not None:
            off[rep.region] += rep.offline_items
    for region, n in sorted(rev.items()):
        pending.add_metric([acquirer, region], n)
    for region, n in sorted(off.items()):
        offline.add_metric([acquirer, region], n)

    fleet = _gauge(
        "possettle_terminals",
        "Active terminals by region, model and software version.",
        ["region", "model", "software_version"],
    )
    silent = _gauge(
        "possettle_terminals_not_reporting",
        "Active terminals not heard from for longer than the threshold (those closed for the "
        "day excluded).",
        ["region"],
    )
    closed = _gauge(
        "possettle_terminals_closed",
        "Active terminals closed for the day: signed off, or settled with nothing booked since.",
        ["region"],
    )
    by_kind = Counter((t.region, t.model, t.software_version) for t in r.terminals if t.active)
    for (region, model, version), n in sorted(by_kind.items()):
        fleet.add_metric([acquirer, region, model, version], n)
    for region, n in _per_region(r, lambda t: t.stale):
        silent.add_metric([acquirer, region], n)
    for region, n in _per_region(r, lambda t: t.closed):
        closed.add_metric([acquirer, region], n)

    failures = _gauge(
        "possettle_settlement_failures",
        "Terminals whose last doctor report is a failure, by its leading cause.",
        ["cause", "group", "step"],
    )
    named: Counter[tuple[str, str, str]] = Counter()
    for rep in r.reports:
        if rep.ok:
            continue
        if rep.causes:
            cause_id, _score, step = rep.causes[0]
            named[(cause_label(cause_id), group_label(cause_id), step_label(step))] += 1
        else:
            named[(OTHER, "unknown", "unknown")] += 1
    for (cause_id, group, step), n in sorted(named.items()):
        failures.add_metric([acquirer, cause_id, group, step], n)

    return [tx, settled, age_max, age_avg, pending, offline, fleet, silent, closed, failures]


def _per_region(r: Readings, pick: Callable[[TerminalReading], bool]) -> list[tuple[str, int]]:
    """How many terminals ``pick`` takes, for every region with active terminals: 0 included,
    since "none silent" is data too."""
    counts = Counter({t.region: 0 for t in r.terminals if t.active})
    counts.update(t.region for t in r.terminals if pick(t))
    return sorted(counts.items())


class HostMetrics:
    """Latency histograms the host can feed (one instance per host process, passed in).

    It implements the host's :class:`~possettle.host.observer.HostObserver`.

    Latency is per process by nature, so it lives in memory, unlike the ledger figures.

    >>> m = HostMetrics()
    >>> m.observe_request("sale", 0.042)
    >>> m.observe_upstream("simulator", 0.031)
    """

    def __init__(self) -> None:
        self.request_seconds = Histogram(
            "possettle_host_request_seconds",
            "Time from a request's arrival to its reply leaving, by message kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.upstream_seconds = Histogram(
            "possettle_upstream_seconds",
            "Time the issuer connector took to answer, by connector.",
            ["connector"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )

        # what one client may not hold (issue 10), by bounded reasons and kinds
        self.connections_refused = PromCounter(
            "possettle_host_connections_refused",
            "Connections closed on accept: capacity, per_address (one address's cap), stopping.",
            ["reason"],
            registry=None,
        )
        self.connections_dropped = PromCounter(
            "possettle_host_connections_dropped",
            "Connections cut: write_timeout (the peer did not read its replies), "
            "first_frame_timeout (no valid frame in time).",
            ["reason"],
            registry=None,
        )
        self.bad_frames = PromCounter(
            "possettle_host_bad_frames",
            "Frames answered without booking: format_error (30), mac_error (A0).",
            ["kind"],
            registry=None,
        )

    def connection_refused(self, reason: str) -> None:
        self.connections_refused.labels(_bounded(reason, REFUSALS)).inc()

    def connection_dropped(self, reason: str) -> None:
        self.connections_dropped.labels(_bounded(reason, DROPS)).inc()

    def bad_frame(self, kind: str) -> None:
        self.bad_frames.labels(_bounded(kind, BAD_FRAMES)).inc()

    def observe_request(self, kind: str, seconds: float) -> None:
        self.request_seconds.labels(kind if kind in HOST_KINDS else OTHER).observe(seconds)

    def observe_upstream(self, connector: str, seconds: float) -> None:
        self.upstream_seconds.labels(connector_label(connector)).observe(seconds)

    def register(self, registry: CollectorRegistry) -> None:
        registry.register(self.request_seconds)
        registry.register(self.upstream_seconds)
        registry.register(self.connections_refused)
        registry.register(self.connections_dropped)
        registry.register(self.bad_frames)


REFUSALS = frozenset({"capacity", "per_address", "stopping"})
DROPS = frozenset({"write_timeout", "first_frame_timeout"})
BAD_FRAMES = frozenset({"format_error", "mac_error"})


def _bounded(label: str, allowed: frozenset[str]) -> str:
    return label if label in allowed else OTHER


def connector_label(name: str) -> str:
    """A connector's name as a bounded label: its kind, never its address or rules file."""
    if name in ("simulator", "iso8583", "wallet"):
        return name
    if name == "sim" or name.startswith("sim:"):
        return "simulator"
    if name.startswith("iso8583://"):
        return "iso8583"
    return OTHER


def render_metrics(
    engine: Engine,
    *,
    acquirer: str = "default",
    clock: Clock | None = None,
    thresholds: Thresholds | None = None,
    host: HostMetrics | None = None,
) -> bytes:
    """The text exposition of the ledger's metrics (and ``host``'s latencies if given).

    A fresh registry per call: nothing is cached between scrapes, no module state.
    """
    return generate_latest(
        metrics_registry(engine, acquirer=acquirer, clock=clock, thresholds=thresholds, host=host)
    )


def metrics_registry(
    engine: Engine,
    *,
    acquirer: str = "default",
    clock: Clock | None = None,
    thresholds: Thresholds | None = None,
    host: HostMetrics | None = None,
) -> CollectorRegistry:
    """A registry holding the ledger's figures (read at each scrape) and ``host``'s latencies."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        LedgerCollector(
            engine,
            acquirer=acquirer,
            clock=clock or SystemClock(),
            thresholds=thresholds or Thresholds(),
        )
    )
    if host is not None:
        host.register(registry)
    return registry


class HostTelemetry:
    """A host process's :class:`HostMetrics` and the ``/metrics`` endpoint that serves them
    beside the ledger's figures: the host's :class:`~possettle.host.observer.Telemetry`."""

    def __init__(self, metrics: HostMetrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else HostMetrics()

    @property
    def observer(self) -> HostMetrics:
        return self.metrics

    def expose(
        self, engine: Engine, *, clock: Clock, acquirer: str, addr: str, port: int
    ) -> MetricsServer:
        registry = metrics_registry(engine, acquirer=acquirer, clock=clock, host=self.metrics)
        return MetricsServer(serve_metrics(registry, addr, port))


class MetricsServer:
    """A ``/metrics`` server on its daemon thread (see :func:`serve_metrics`)."""

    def __init__(self, server: WSGIServer) -> None:
        self._server = server

    @property
    def port(self) -> int:
        return self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(registry: CollectorRegistry, addr: str, port: int) -> WSGIServer:
    """Serve ``/metrics`` from ``registry`` on a daemon thread; ``shutdown()`` stops it.

    ``port`` 0 picks a free port: ``server.server_port`` tells which.
    """
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server
