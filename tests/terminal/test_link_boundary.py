"""The link's errors become the terminal's at one point, the link's kept as the cause.

A caller of the terminal (the CLI, the simulator, the doctor, a library user) catches the
terminal's tree alone: ``HostUnreachable`` (nothing sent), ``NoReply``/``ReplyTimeout`` (sent,
fate unknown), ``BadReplyMac`` (a reply not to act on), all ``LinkDown``.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from possettle.link.client import LinkError, LinkTimeout, LinkUnreachable, ReplyMacError
from possettle.terminal.errors import (
    BadReplyMac,
    HostUnreachable,
    LinkDown,
    NoReply,
    ReplyTimeout,
    TerminalError,
)
from possettle.terminal.operations.answer import BadMac, NotSent, Unanswered
from possettle.terminal.shell import answer_for
from tests.terminal.harness import make_terminal, open_pos


@pytest.mark.parametrize(
    ("link_error", "answer", "error"),
    [
        pytest.param(
            LinkUnreachable("cannot connect to 127.0.0.1:1: [Errno 111] Connection refused"),
            NotSent,
            HostUnreachable,
            id="a connection that could not be opened is not sent and the host unreachable",
        ),
        pytest.param(
            LinkTimeout("no reply within 10.0s"),
            Unanswered,
            ReplyTimeout,
            id="silence past the read timeout is unanswered and a reply timeout",
        ),
        pytest.param(
            LinkError("host closed the connection"),
            Unanswered,
            NoReply,
            id="a connection the host closed after the request is unanswered",
        ),
        pytest.param(
            LinkError("connection lost: [Errno 104] Connection reset by peer"),
            Unanswered,
            NoReply,
            id="a connection reset after the request is unanswered",
        ),
        pytest.param(
            ReplyMacError("reply to STAN 000007 has a bad MAC"),
            BadMac,
            BadReplyMac,
            id="a reply whose MAC does not verify is a bad MAC",
        ),
    ],
)
def test_a_link_error_becomes_the_terminals_own_with_the_link_error_as_its_cause(
    link_error: LinkError, answer: type, error: type[LinkDown]
) -> None:
    got = answer_for(link_error)
    assert type(got) is answer
    assert type(got.error) is error
    assert str(got.error) == str(link_error)
    assert got.error.__cause__ is link_error
    assert not isinstance(got.error, LinkError)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_sign_on_to_a_host_nobody_listens_for_raises_host_unreachable(
    tmp_path: Path,
) -> None:
    pos = open_pos(make_terminal(tmp_path / "t", _closed_port()))
    try:
        with pytest.raises(HostUnreachable) as info:
            await pos.sign_on()
        assert isinstance(info.value.__cause__, LinkUnreachable)
    finally:
        await pos.close()


async def test_a_sign_on_the_host_never_answers_raises_a_reply_timeout(tmp_path: Path) -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # read the 0800 and say nothing until the terminal hangs up
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pos = open_pos(make_terminal(tmp_path / "t", port, timeout=0.2))
    try:
        with pytest.raises(TerminalError) as info:
            await pos.sign_on()
        assert type(info.value) is ReplyTimeout
        assert isinstance(info.value.__cause__, LinkTimeout)
    finally:
        await pos.close()
        server.close()
        await server.wait_closed()
