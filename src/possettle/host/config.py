"""Host configuration: what ``possettle host serve`` takes, as one value passed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class HostConfig:
    db_url: str
    host: str = "127.0.0.1"
    port: int = 5000
    issuer: str = "sim"
    key_file: Path | None = None
    #: connections beyond this are closed at once (a slow-client flood cannot exhaust us)
    max_connections: int = 1024
    #: a connection silent this long between frames is closed
    idle_timeout: float = 60.0
    #: a frame started but not finished within this is a slow client: closed
    frame_timeout: float = 10.0
    issuer_timeout: float = 10.0
    acquirer_id: str = "00010000"
    issuer_id: str = "00010000000"
    #: seconds to let in-flight requests finish on shutdown
    shutdown_grace: float = 10.0
    #: seconds a sale may use a terminal's cached state (0: read it every time); see
    #: :mod:`possettle.host.state_cache` for why a stale entry can never book money
    terminal_cache_ttl: float = 5.0
    #: serve Prometheus metrics (ledger figures + this process's latencies) on this port
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # --- upstream reversals (possettle.host.reversals) ------------------------------------
    #: seconds one reversal attempt waits for the issuer's 0410
    reversal_timeout: float = 10.0
    #: back-off between attempts: the first delay and the cap in seconds (doubling between),
    #: each varied by ± this fraction so many hosts do not retry in step
    reversal_retry_initial: float = 0.5
    reversal_retry_max: float = 60.0
    reversal_retry_jitter: float = 0.1
    #: seconds past its own budget that a host's hold on an upstream request or a reversal
    #: lasts; after that another host process (or this one, restarted) takes it over
    reversal_lease: float = 30.0
    #: the sender looks for due reversals (another process's, say) at least this often
    reversal_poll: float = 1.0
