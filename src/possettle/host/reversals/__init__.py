"""Upstream reversals the host owes the issuer, kept in the ledger until acknowledged.

* :mod:`~possettle.host.reversals.machine` — the states of a reversal and what one send
  attempt leads to (pure; back-off from :class:`~possettle.upstream.retry.RetryPolicy`);
* :mod:`~possettle.host.reversals.store` — the ``upstream_reversals`` rows: intents, claims
  under a lease, attempts, late replies;
* :mod:`~possettle.host.reversals.intent` — what a handler holds while it asks the issuer,
  settled inside the handler's own ledger commit;
* :mod:`~possettle.host.reversals.sender` — the durable sender ``host serve`` runs, and the
  host's late-reply handler.

The life of one row::

    intent ──(answer booked)──────────────► (deleted)
       │ (no usable answer: 98/91/96,
       │  approval not booked: 12/94,
       │  or the host died: lease expired → 96)
       ▼
    pending ──(0410 with 91/96, no reply, no connection: back off, retry)──► pending
       │
       └──(0410 with any other code)──► acknowledged
"""
