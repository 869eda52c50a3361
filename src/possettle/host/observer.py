"""What the host reports about itself as it runs, and to whom: an interface it owns.

The host calls a :class:`HostObserver` (a request answered, the issuer's latency, a bad
frame, a connection refused or cut); it does not know who listens. The monitor's
:class:`~possettle.monitor.metrics.HostMetrics` is one such observer (Prometheus histograms
and counters), and its :class:`~possettle.monitor.metrics.HostTelemetry` is a
:class:`Telemetry`: the observer plus the ``/metrics`` endpoint that serves it. Whoever starts
a host (the CLI, a test, a bench) hands a telemetry to :func:`~possettle.host.server.serve`;
the host package imports nothing from the monitor.

Labels are the caller's words and may be anything; an observer bounds them itself.

>>> observer: HostObserver = NoObserver()
>>> observer.observe_request("sale", 0.042)
>>> observer.connection_refused("capacity")
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from possettle.clock import Clock


class HostObserver(Protocol):
    """Events of one host process, reported as they happen (never raises, never blocks)."""

    def observe_request(self, kind: str, seconds: float) -> None:
        """A request of message ``kind`` was answered ``seconds`` after it arrived."""
        ...

    def observe_upstream(self, connector: str, seconds: float) -> None:
        """The issuer connector named ``connector`` answered within ``seconds``."""
        ...

    def bad_frame(self, kind: str) -> None:
        """A frame was answered without booking: ``format_error`` (30) or ``mac_error`` (A0)."""
        ...

    def connection_refused(self, reason: str) -> None:
        """A connection was closed on accept: ``capacity``, ``per_address`` or ``stopping``."""
        ...

    def connection_dropped(self, reason: str) -> None:
        """A connection was cut: ``write_timeout`` or ``first_frame_timeout``."""
        ...


class NoObserver:
    """The observer of a host nobody watches: every report is dropped."""

    def observe_request(self, kind: str, seconds: float) -> None:
        pass

    def observe_upstream(self, connector: str, seconds: float) -> None:
        pass

    def bad_frame(self, kind: str) -> None:
        pass

    def connection_refused(self, reason: str) -> None:
        pass

    def connection_dropped(self, reason: str) -> None:
        pass


class MetricsEndpoint(Protocol):
    """A running ``/metrics`` server beside the host."""

    @property
    def port(self) -> int:
        """The port it listens on (the one asked for, or the free one picked for 0)."""
        ...

    def close(self) -> None:
        """Stop serving and release the port (blocks until the server thread ends)."""
        ...


class Telemetry(Protocol):
    """An observer and the means to serve what it gathered (``host serve --metrics-port``)."""

    @property
    def observer(self) -> HostObserver: ...

    def expose(
        self, engine: Engine, *, clock: Clock, acquirer: str, addr: str, port: int
    ) -> MetricsEndpoint:
        """Serve ``/metrics`` on ``addr:port``: the ledger read through ``engine`` at each
        scrape, plus the observer's figures. Raises :class:`OSError` when it cannot listen."""
        ...
