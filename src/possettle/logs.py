"""One logging pipeline: structlog and the standard library, masked and escaped, to stderr.

Every log line — possettle's own structlog calls and every record of a stdlib logger
(upstream connectors, uvicorn, alembic, any third-party library) — goes through the same
processors before it is rendered as console text or JSON lines:

1. context, level, timestamp and exception text are added;
2. **card data is masked**: any run of digits holding a Luhn-valid 13–19 digit number, in any
   value, key, message or traceback, is shown as first 6 / last 4 (code already logs masked
   values; this is the last line of defence);
3. **non-printable characters are escaped** (:mod:`possettle.printable`): a value from the
   wire cannot clear the operator's screen, forge a log line or reorder what is read
   (tracebacks keep their line breaks).

Log lines go to the ``sys.stderr`` of the moment (stdout is for ``--json`` data); a stream
closed since configuration (a test runner's capture) is never written to.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import Processor

from possettle.cards import mask_card_numbers
from possettle.printable import escape_nonprintable

_PLAIN = (str, int, float, bool, type(None))
# multi-line by nature, rendered as blocks: their line breaks are kept
_BLOCKS = frozenset({"exception", "stack"})


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, dict):
        return {_mask_value(k): _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask_value(v) for v in value]
    if isinstance(value, _PLAIN):
        return value
    # bytes, exceptions, dataclasses …: both renderers would show their repr(); mask that
    return mask_card_numbers(repr(value))


def mask_card_data(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask every card number in every value (see the module docstring)."""
    for key, value in list(event.items()):
        event[key] = _mask_value(value)
    return event


def _escape_value(value: Any, keep: str = "") -> Any:
    if isinstance(value, str):
        escaped = escape_nonprintable(value, keep=keep)
        # an escape ends in hex digits: "\x11" before "23456…" is a new run of digits
        return escaped if escaped == value else mask_card_numbers(escaped)
    if isinstance(value, dict):
        return {_escape_value(k): _escape_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_value(v) for v in value]
    return value


def escape_control_characters(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Escape non-printable characters in every value (runs after masking)."""
    for key, value in list(event.items()):
        event[key] = _escape_value(value, keep="\n" if key in _BLOCKS else "")
    return event


def _write(message: str) -> None:
    stream = sys.stderr
    if stream is None or getattr(stream, "closed", False):
        return
    try:
        print(message, file=stream, flush=True)
    except ValueError:  # closed between the check and the write
        return


class _StderrLogger:
    """structlog's print logger, writing to whatever ``sys.stderr`` is at the time."""

    def msg(self, message: str) -> None:
        _write(message)

    log = debug = info = warn = warning = error = critical = exception = fatal = failure = msg


class _StderrLoggerFactory:
    def __call__(self, *args: Any) -> _StderrLogger:
        return _StderrLogger()


def _ours_or_warning(record: logging.LogRecord) -> bool:
    """possettle's own stdlib loggers at the configured level; third parties from WARNING.

    Libraries narrate at INFO (alembic's "Context impl SQLiteImpl." on every start); an
    operator needs their warnings and errors, not that.
    """
    return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] == "possettle"


class _StderrHandler(logging.Handler):
    """The root handler for stdlib records: formatted by the pipeline, to ``sys.stderr`` now."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(_ours_or_warning)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        _write(message)


def _pipeline() -> list[Processor]:
    """The processors every event goes through, structlog's or stdlib's, before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        mask_card_data,
        escape_control_characters,
    ]


def configure_logging(*, json_lines: bool = False, level: int = logging.INFO) -> None:
    """Set up the one pipeline for structlog and the stdlib root logger (idempotent)."""
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*_pipeline(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # stdout is for data (--json); logs go to stderr — looked up at each write, so a
        # stream swapped (test runners) or closed since configuration is never written to
        logger_factory=_StderrLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_pipeline(),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def ensure_logging() -> None:
    """Configure the masking logs unless the application already did.

    structlog's own default renders exceptions with their local variables, which could put
    card data on the screen; a host or terminal started as a library gets ours instead.
    """
    if not structlog.is_configured():
        configure_logging()
