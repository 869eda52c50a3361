"""How a link failed is decided where the socket error or the timeout is caught (link/client.py)
and carried on the error as ``kind``, on real sockets: a closed port, a listener whose accept
queue is full, a server that resets or closes, one that never answers. A missing route cannot
be made without touching the machine's network, so those cases make the connect call itself
fail with the errno a kernel gives."""

from __future__ import annotations

import errno
import socket

import pytest

from possettle.crypto.keys import Key
from possettle.iso8583.fields import NetworkCode
from possettle.link import requests as m
from possettle.link.client import Link, LinkError, LinkTimeout, LinkUnreachable
from possettle.link.failure import LinkFailure
from tests.link.endpoints import (
    closed_port,
    connect_fails,
    full_accept_queue,
    resolves_to,
    server,
)

TID, MID = "10000001", "898310048160001"
TIMEOUT = 0.5


def link_to(port: int, host: str = "127.0.0.1") -> Link:
    return Link(host, port, TID, MID, Key(bytes(16)), timeout=TIMEOUT)


def echo(stan: int = 1) -> dict[str, str]:
    return m.management(TID, MID, stan, 1, NetworkCode.ECHO)


async def failure_of(link: Link) -> LinkError:
    with pytest.raises(LinkError) as info:
        try:
            await link.send(echo())
        finally:
            await link.close()
    return info.value


async def test_a_closed_port_is_refused_and_nothing_was_sent() -> None:
    err = await failure_of(link_to(closed_port()))
    assert isinstance(err, LinkUnreachable)
    assert err.kind is LinkFailure.REFUSED


async def test_a_connect_nobody_answers_is_a_timeout() -> None:
    with full_accept_queue() as port:
        err = await failure_of(link_to(port))
    assert isinstance(err, LinkUnreachable)
    assert err.kind is LinkFailure.TIMEOUT


async def test_a_connection_reset_mid_exchange_is_reset() -> None:
    async with server("reset") as port:
        err = await failure_of(link_to(port))
    assert not isinstance(err, LinkUnreachable)  # the request left: its fate is unknown
    assert err.kind is LinkFailure.RESET


async def test_a_host_that_closes_mid_exchange_is_reset() -> None:
    async with server("close") as port:
        err = await failure_of(link_to(port))
    assert not isinstance(err, LinkUnreachable)
    assert err.kind is LinkFailure.RESET


async def test_a_request_sent_and_never_answered_is_a_lost_reply() -> None:
    async with server("silent") as port:
        err = await failure_of(link_to(port))
    assert isinstance(err, LinkTimeout)
    assert err.kind is LinkFailure.LOST_REPLY


@pytest.mark.parametrize("code", [errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN])
async def test_a_connect_with_no_route_is_no_route(
    monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    connect_fails(monkeypatch, {"127.0.0.1": OSError(code, "as the kernel says")})
    err = await failure_of(link_to(closed_port()))
    assert isinstance(err, LinkUnreachable)
    assert err.kind is LinkFailure.NO_ROUTE


async def test_a_host_name_that_does_not_resolve_is_no_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolves_to(monkeypatch, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    err = await failure_of(link_to(5000, host="acquirer.invalid"))
    assert isinstance(err, LinkUnreachable)
    assert err.kind is LinkFailure.NO_ROUTE


async def test_of_several_addresses_the_last_one_tried_says_how_the_link_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = closed_port()
    v6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", port, 0, 0))
    v4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
    resolves_to(monkeypatch, [v6, v4])
    connect_fails(monkeypatch, {"2001:db8::1": OSError(errno.ENETUNREACH, "unreachable")})
    err = await failure_of(link_to(port, host="acquirer.example"))
    assert err.kind is LinkFailure.REFUSED  # IPv6 has no route here; IPv4 got an answer


def test_a_reply_mac_error_is_no_link_failure() -> None:
    from possettle.link.client import ReplyMacError

    assert ReplyMacError("bad MAC").kind is None
