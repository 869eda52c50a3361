"""structlog set-up: console or JSON lines, with a processor that masks card data.

The masking processor is the last line of defence: code already logs masked values, but
any digit run that looks like a PAN (13–19 digits passing Luhn) in any event value is
replaced by its first 6 / last 4 form.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from possettle.cards import luhn_ok, mask_pan

_PAN_RE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def _mask_text(text: str) -> str:
    return _PAN_RE.sub(lambda m: mask_pan(m.group()) if luhn_ok(m.group()) else m.group(), text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def mask_card_data(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = _mask_value(value)
    return event


class _StderrLogger:
    """structlog's print logger, writing to whatever ``sys.stderr`` is at the time."""

    def msg(self, message: str) -> None:
        stream = sys.stderr
        if stream is None or getattr(stream, "closed", False):
            return
        print(message, file=stream, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = failure = msg


class _StderrLoggerFactory:
    def __call__(self, *args: Any) -> _StderrLogger:
        return _StderrLogger()


def configure_logging(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_card_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # stdout is for data (--json); logs go to stderr — looked up at each write, so a
        # stream swapped (test runners) or closed since configuration is never written to
        logger_factory=_StderrLoggerFactory(),
        cache_logger_on_first_use=False,
    )


def ensure_logging() -> None:
    """Configure the masking logs unless the application already did.

    structlog's own default renders exceptions with their local variables, which could put
    card data on the screen; a host or terminal started as a library gets ours instead.
    """
    if not structlog.is_configured():
        configure_logging()
