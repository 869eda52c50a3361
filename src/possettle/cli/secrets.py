"""Secrets (a TMK, a PIN) that stay out of shell history and ``ps``.

An option given the value ``-`` reads the secret instead of taking it from the command line:
from a hidden prompt when standard input is a terminal, else the first line of standard
input (a pipe, a file, a key-loading tool). A value typed on the command line still works,
for a lab; anywhere else use ``-`` (README, "Keys and PINs").

>>> import io
>>> read_secret("--pin", "-", stdin=io.StringIO("123456\\n"))
'123456'
>>> read_secret("--pin", "1234", stdin=io.StringIO(""))
'1234'
>>> read_secret("--pin", None) is None
True
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from possettle.errors import ConfigError

#: the option value that means "read it, do not take it from the command line"
FROM_INPUT = "-"


def read_secret(option: str, value: str | None, *, stdin: TextIO | None = None) -> str | None:
    """``value``, or the secret read for it when it is ``-``; ConfigError when none comes."""
    if value != FROM_INPUT:
        return value
    stream = stdin if stdin is not None else sys.stdin
    if stream.isatty():
        # getpass writes the prompt to the terminal, not stdout: --json output stays clean
        text = getpass.getpass(f"{option} (hidden 输入不回显): ")
    else:
        text = stream.readline()
    secret = text.rstrip("\r\n")
    if not secret.strip():
        raise ConfigError.in_both(
            f"{option} -: nothing was read from standard input or the prompt",
            f"未从标准输入或提示中读到 {option}",
        )
    return secret
