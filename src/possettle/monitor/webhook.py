"""Webhook delivery: POST a JSON document to each URL, with a timeout, never raising.

An alert engine that crashes because a chat server is down would stop alerting on
everything else, so delivery failures are logged (URL reduced to scheme and host, since
webhook URLs often carry tokens) and reported back as ``False``; the engine retries on its
next evaluation.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import structlog

from possettle.errors import ConfigError

DEFAULT_TIMEOUT = 5.0

# (url, body, timeout) -> raises on failure; injectable so tests can fail on purpose.
Sender = Callable[[str, bytes, float], None]

log = structlog.get_logger("possettle.monitor.webhook")


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL, else a :class:`ConfigError` naming it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"webhook URL {where(url)!r} is not an http:// or https:// URL")
    return url


def where(url: str) -> str:
    """Scheme and host only: the path or query of a webhook URL is often a secret."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else "(not a URL)"


def post_json(url: str, body: bytes, timeout: float) -> None:
    """The default sender: one POST with urllib; non-2xx answers raise ``HTTPError``."""
    check_url(url)
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        resp.read()


def deliver(
    urls: Sequence[str],
    payload: dict[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sender: Sender = post_json,
) -> int:
    """POST ``payload`` to every URL; returns how many accepted it."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    delivered = 0
    for url in urls:
        try:
            sender(url, body, timeout)
        except (OSError, ValueError, ConfigError) as e:
            # URLError and HTTPError are OSErrors; timeouts too
            log.warning("webhook_failed", webhook=where(url), error=type(e).__name__, detail=str(e))
            continue
        delivered += 1
    return delivered
