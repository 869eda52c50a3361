"""The acquirer host in its own process, so the simulator can kill it for real.

``kill()`` is SIGKILL (a crash, nothing flushed); ``stop()`` is SIGTERM (graceful). The host
writes its log lines to a file in the work directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from possettle.sim.errors import HostProcessError

START_TIMEOUT = 20.0  # seconds for a fresh process to import, migrate and listen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HostProcess:
    def __init__(
        self,
        db_url: str,
        key_file: Path,
        port: int,
        log: Path,
        issuer: str = "sim",
        *,
        args: Sequence[str] = (),
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        """``args`` go after ``host serve``'s own (budgets, say)."""
        self.db_url, self.key_file, self.port, self.log = db_url, key_file, port, log
        self.issuer = issuer
        self.args = tuple(args)
        self.start_timeout = start_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        """The host's process id while it runs (for its memory, say); None when stopped."""
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """None while the process runs (or was never started), else its exit status."""
        return self._proc.returncode if self._proc is not None else None

    async def start(self, *, env: Mapping[str, str] | None = None, may_exit: bool = False) -> None:
        """Start the host and wait until it listens. ``env`` replaces the process
        environment (default: ours); with ``may_exit`` a process that ends before it
        listens (a crash point on the way up) is not an error."""
        cmd = [
            sys.executable, "-m", "possettle.cli.main", "host", "serve", "--db", self.db_url,
            "--key-file", str(self.key_file), "--port", str(self.port), "--issuer", self.issuer,
            "--json-logs", *self.args,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
                env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while loop.time() < deadline:
            if self._proc.returncode is not None:
                if may_exit:
                    return
                raise HostProcessError(f"host exited with {self._proc.returncode}; see {self.log}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        raise HostProcessError(
            f"host did not listen on port {self.port} within {self.start_timeout}s"
        )

    async def wait(self, within: float) -> int | None:
        """The exit status once the process ends on its own within ``within`` s, else None."""
        if self._proc is None:
            return None
        try:
            return await asyncio.wait_for(self._proc.wait(), within)
        except TimeoutError:
            return None

    async def kill(self) -> None:
        """A crash: SIGKILL, no graceful shutdown."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        await self._end(signal.SIGTERM)

    async def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def restart(self) -> None:
        await self.kill()
        await self.start()
