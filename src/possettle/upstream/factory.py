"""The one place that knows every issuer connector: a command-line spec to a connector.

The request and result types live in :mod:`~possettle.upstream.connector`, which imports no
implementation; this module imports them all.

>>> from possettle.clock import SystemClock
>>> connector_from_spec("sim", SystemClock()).name
'sim'
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from possettle.clock import Clock
from possettle.crypto.keys import Key
from possettle.errors import ConfigError
from possettle.upstream.connector import IssuerConnector
from possettle.upstream.iso8583 import Iso8583Connector
from possettle.upstream.rules import Rules, load_rules
from possettle.upstream.simulator import SimulatorConnector


def connector_from_spec(spec: str, clock: Clock) -> IssuerConnector:
    """Build a connector from a command-line spec.

    * ``sim`` — the built-in simulator with default rules;
    * ``sim:/path/rules.toml`` — the simulator with a rules file;
    * ``iso8583://HOST:PORT?timeout=5&zpk=HEX`` — a remote ISO 8583:1987 issuer.
    """
    if spec == "sim":
        return SimulatorConnector(clock, Rules())
    if spec.startswith("sim:"):
        path = spec.removeprefix("sim:")
        if not path:
            raise ConfigError("issuer spec 'sim:' needs a rules file path after the colon")
        return SimulatorConnector(clock, load_rules(path))
    if spec.startswith("iso8583://"):
        host, port, timeout, zpk = _parse_iso8583_spec(spec)
        return Iso8583Connector(host, port, clock, timeout=timeout, zpk=zpk)
    scheme = spec.split(":", 1)[0] if ":" in spec else spec
    raise ConfigError(
        f"unknown issuer spec {scheme!r}: expected 'sim', 'sim:/path/rules.toml' "
        "or 'iso8583://HOST:PORT?timeout=5&zpk=HEX'"
    )


_ISO_KEYS = ("timeout", "zpk")


def _parse_iso8583_spec(spec: str) -> tuple[str, int, float, Key | None]:
    # The spec may hold a ZPK: messages name the problem, never echo the query string.
    where = "issuer spec iso8583://"
    parts = urlsplit(spec)
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{where}: the port must be a number from 1 to 65535") from exc
    host = parts.hostname
    if not host or port is None or port == 0:
        raise ConfigError(f"{where}: expected iso8583://HOST:PORT with a port from 1 to 65535")
    if parts.path not in ("", "/") or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{where}: only HOST:PORT and the query ?timeout=&zpk= are allowed")
    query = parse_qs(parts.query, keep_blank_values=True)
    for key, values in query.items():
        if key not in _ISO_KEYS:
            raise ConfigError(f"{where}: unknown option {key!r} (expected timeout or zpk)")
        if len(values) != 1:
            raise ConfigError(f"{where}: option {key!r} is given more than once")
    timeout = 5.0
    if "timeout" in query:
        text = query["timeout"][0]
        try:
            timeout = float(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: timeout {text!r} is not a number of seconds") from exc
        if not 0 < timeout <= 300:
            raise ConfigError(f"{where}: timeout {text!r} must be above 0 and at most 300")
    zpk: Key | None = None
    if "zpk" in query:
        hexkey = query["zpk"][0]
        try:
            material = bytes.fromhex(hexkey)
        except ValueError as exc:
            raise ConfigError(f"{where}: zpk is not hexadecimal") from exc
        if len(material) not in (16, 24):
            raise ConfigError(
                f"{where}: zpk must be a double- or triple-length 3DES key "
                f"(32 or 48 hex digits), got {len(hexkey)} characters"
            )
        zpk = Key(material)
    return host, port, timeout, zpk
