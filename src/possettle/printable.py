"""Text that is safe to put on a terminal: every non-printable character escaped.

A value from the wire (a TID, a merchant name, a report) may hold control bytes: ESC
sequences that clear or rewrite an operator's screen, a newline that forges a log line, a
bidi override that reorders what is read. Anything :meth:`str.isprintable` refuses — C0,
DEL, C1, line and paragraph separators, format characters such as the bidi controls and
zero-width ones, unassigned code points — is written as a Python escape instead. The
backslash itself is left alone, so escaping twice changes nothing.

>>> escape_nonprintable("12\\x1b[2J56")
'12\\\\x1b[2J56'
>>> escape_nonprintable("a\\u2028b\\u202ec")
'a\\\\u2028b\\\\u202ec'
"""

from __future__ import annotations

import re

_NONPRINTABLE = re.compile(r"[^ -~]")  # fast path: anything outside printable ASCII


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_nonprintable(text: str, *, keep: str = "") -> str:
    """``text`` with every non-printable character (except those in ``keep``) escaped."""
    return _NONPRINTABLE.sub(lambda m: m.group() if m.group() in keep else _escape(m.group()), text)
