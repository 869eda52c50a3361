"""How a link to the host failed, decided where the socket error or the timeout is caught.

The doctor and the journal read this kind, never the error's text: an ``OSError``'s message
differs between systems (``[Errno 111] Connection refused`` here, ``WinError 10061`` there),
its number is the only portable part, and a timeout has neither.

======================  ================================================================
kind                    what happened (where on the path it stopped)
======================  ================================================================
``refused``             the connect was answered with a reset: the path works, the host's
                        side said no (nothing listens, or a firewall rejects)
``timeout``             the connect got no answer in time: packets left, nothing came back
``no_route``            nothing could leave: no route, the network is down, or the host's
                        name does not resolve
``reset``               an open connection was reset or closed while a request was in it
``lost_reply``          the request was sent and no reply came within the read timeout
======================  ================================================================

>>> import errno
>>> connect_failure(ConnectionRefusedError(errno.ECONNREFUSED, "refused"))
<LinkFailure.REFUSED: 'refused'>
>>> connect_failure(OSError(errno.EHOSTUNREACH, "no route to host"))
<LinkFailure.NO_ROUTE: 'no_route'>
>>> exchange_failure(BrokenPipeError(errno.EPIPE, "broken pipe"))
<LinkFailure.RESET: 'reset'>
"""

from __future__ import annotations

import errno
from enum import StrEnum


class LinkFailure(StrEnum):
    REFUSED = "refused"
    TIMEOUT = "timeout"
    NO_ROUTE = "no_route"
    RESET = "reset"
    LOST_REPLY = "lost_reply"


#: errno values that say no packet could reach the host from here (the local link, the
#: router, the carrier): ENETUNREACH / EHOSTUNREACH come back from the kernel or an ICMP
#: "unreachable", ENETDOWN / EHOSTDOWN when the interface or the neighbour is down,
#: EADDRNOTAVAIL when the interface lost its address
NO_ROUTE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.EADDRNOTAVAIL}
)


def connect_failure(exc: BaseException) -> LinkFailure:
    """The kind of a failed connect (``asyncio.open_connection`` / ``socket.connect``).

    Anything that is neither a refusal nor a timeout kept the connection from being opened
    from here, so it counts as ``no_route`` (a name that does not resolve, a local firewall
    that forbids the connect).
    """
    if isinstance(exc, ConnectionRefusedError | ConnectionResetError | ConnectionAbortedError):
        return LinkFailure.REFUSED  # a reset to the SYN is how a refusal arrives
    if isinstance(exc, TimeoutError):  # asyncio's timeout, and the kernel's (ETIMEDOUT)
        return LinkFailure.TIMEOUT
    return LinkFailure.NO_ROUTE  # NO_ROUTE_ERRNOS, socket.gaierror and the rest


def exchange_failure(exc: BaseException) -> LinkFailure:
    """The kind of a failure on an open connection, before a reply was read.

    A read timeout is ``lost_reply``; a route that vanished (an ICMP "unreachable" on the
    established connection) is ``no_route``; any other error, and the host closing the
    connection, is ``reset``.
    """
    if isinstance(exc, TimeoutError):
        return LinkFailure.LOST_REPLY
    if isinstance(exc, OSError) and exc.errno in NO_ROUTE_ERRNOS:
        return LinkFailure.NO_ROUTE
    return LinkFailure.RESET
