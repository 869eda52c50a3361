"""Host configuration: what ``possettle host serve`` takes, as one value passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from possettle.ledger.business_day import BusinessDay


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
    # -- what one client may hold (issue 10: a host that cannot be pushed over)
    #: a reply the peer has not taken within this is a client that does not read: its
    #: connection is dropped and its buffered replies released (None: the idle timeout)
    write_timeout: float | None = None
    #: connections from one source address beyond this are closed at once, so one address
    #: cannot take the whole ``max_connections``; 512 still lets one load generator (or a
    #: NAT in front of a few hundred terminals) open a few hundred
    max_connections_per_address: int = 512
    #: a connection that has sent no valid frame (one decoded and answered as a known
    #: message) this long after it was accepted is closed (the idle timeout if that is shorter)
    first_frame_timeout: float = 5.0
    #: bad frames (format errors, MAC errors) are counted per terminal and kind in memory
    #: and written at most once per this many seconds (host/bad_frames.py)
    bad_frame_flush_interval: float = 1.0
    #: the ledger keeps at most this many recent bad frames (masked) as a sample
    bad_frame_sample_size: int = 1000
    #: samples, and counters not incremented, for longer than this many seconds are deleted
    bad_frame_retention: float = 7 * 24 * 3600.0
    issuer_timeout: float = 10.0
    acquirer_id: str = "00010000"
    issuer_id: str = "00010000000"
    #: seconds to let in-flight requests finish on shutdown
    shutdown_grace: float = 10.0
    #: seconds a sale may use a terminal's cached state (0: read it every time); see
    #: :mod:`possettle.host.state_cache` for why a stale entry can never book money
    terminal_cache_ttl: float = 5.0
    #: seconds a running host keeps a host policy it read from the ledger (0: read it every
    #: time); ``possettle host policy`` changes reach it within this (possettle.host.policy)
    policy_cache_ttl: float = 5.0
    #: serve Prometheus metrics (ledger figures + this process's latencies) on this port
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    #: the clearing day (日切) each ledger entry is stamped with: zone and local cut-over
    #: (``host serve --timezone ZONE --cutover HH:MM``; Asia/Shanghai, 23:00 by default)
    business_day: BusinessDay = field(default_factory=BusinessDay)

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

    @property
    def write_deadline(self) -> float:
        """Seconds a reply may wait for the peer to read it: ``write_timeout`` or idle."""
        return self.idle_timeout if self.write_timeout is None else self.write_timeout
