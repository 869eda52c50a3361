"""A network receipt printer on 127.0.0.1 for tests: it answers ESC/POS status queries."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest


class FakeNetworkPrinter:
    """A TCP printer on 127.0.0.1 that answers DLE EOT status queries and keeps the rest."""

    ONLINE = b"\x12"  # bit 3 clear: online
    OFFLINE = b"\x1a"  # bit 3 set: offline (cover open, error)
    PAPER_OK = b"\x12"
    PAPER_END = b"\x72"  # bits 5 and 6: paper end
    NO_CAUSE = b"\x12"  # DLE EOT 2 / 3 with no cause bit set

    def __init__(
        self,
        paper: bytes,
        connections: int = 1,
        online: bytes = ONLINE,
        offline_cause: bytes = NO_CAUSE,
        error_cause: bytes = NO_CAUSE,
    ) -> None:
        self.paper = paper
        self.online = online
        self.answers = {1: online, 2: offline_cause, 3: error_cause, 4: paper}
        self.jobs: list[bytes] = []  # what each connection sent, status queries left out
        self._connections = connections
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve)
        self._thread.start()

    def _serve(self) -> None:
        with self._server:
            self._server.settimeout(10)
            for _ in range(self._connections):
                conn, _ = self._server.accept()
                received = bytearray()
                with conn:
                    conn.settimeout(10)
                    while data := conn.recv(65536):
                        if len(data) == 3 and data[:2] == b"\x10\x04" and data[2] in self.answers:
                            conn.sendall(self.answers[data[2]])
                        else:
                            received += data
                self.jobs.append(bytes(received))

    def join(self) -> None:
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def net_printer_factory() -> Iterator[list[FakeNetworkPrinter]]:
    started: list[FakeNetworkPrinter] = []
    yield started
    for fake in started:
        fake.join()
