"""The acquirer host's upstream: one issuer-connector interface and its implementations.

* :mod:`~possettle.upstream.connector` — :class:`AuthRequest`, :class:`AuthResult`, the
  :class:`IssuerConnector` protocol, what a connector sent (:class:`SentRequest`), one
  reversal to send (:class:`UpstreamReversal`) and a :class:`LateReply`: types only, no
  implementation;
* :mod:`~possettle.upstream.factory` — :func:`connector_from_spec`, the one module that
  knows every implementation;
* :mod:`~possettle.upstream.simulator` and :mod:`~possettle.upstream.rules` — the built-in
  issuer and its rules file;
* :mod:`~possettle.upstream.iso8583` — a remote issuer over ISO 8583:1987 (with
  :mod:`~possettle.upstream.wire`, :mod:`~possettle.upstream.mapping` and
  :mod:`~possettle.upstream.retry`; PIN blocks come from :mod:`possettle.crypto.pin`);
* :mod:`~possettle.upstream.errors` — the error tree.
"""

from __future__ import annotations

from possettle.upstream.connector import (
    AuthKind,
    AuthRequest,
    AuthResult,
    IssuerConnector,
    LateReply,
    SentRequest,
    UpstreamReversal,
)
from possettle.upstream.errors import (
    RulesError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRequestError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from possettle.upstream.factory import connector_from_spec
from possettle.upstream.iso8583 import Iso8583Connector
from possettle.upstream.retry import RetryPolicy
from possettle.upstream.rules import CardState, Rules, load_rules, parse_rules
from possettle.upstream.simulator import SimulatorConnector

__all__ = [
    "AuthKind",
    "AuthRequest",
    "AuthResult",
    "CardState",
    "Iso8583Connector",
    "IssuerConnector",
    "LateReply",
    "RetryPolicy",
    "Rules",
    "RulesError",
    "SentRequest",
    "SimulatorConnector",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamRequestError",
    "UpstreamReversal",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "connector_from_spec",
    "load_rules",
    "parse_rules",
]
