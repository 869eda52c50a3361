"""The adversity proxy on real sockets, between a real terminal link and a real host."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.errors import ConfigError
from possettle.iso8583 import codec
from possettle.iso8583.fields import NetworkCode
from possettle.iso8583.framing import FrameReader
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import ledger_entries
from possettle.link import requests as m
from possettle.link.client import Link, LinkError, LinkTimeout, LinkUnreachable
from possettle.sim.proxy import Action, AdversityProxy, Direction, Faults, FrameSplitter, decide
from tests.host.harness import MID, PAN, TID, TMK, RunningHost, register, running_host

SIGN_ON = Link("127.0.0.1", 0, TID, MID, TMK).encode(m.sign_on(TID, MID, 1, 1))


@pytest.fixture
async def host(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningHost]:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as h:
        yield h


@contextlib.asynccontextmanager
async def proxy_to(port: int, faults: Faults, seed: int = 1) -> AsyncIterator[AdversityProxy]:
    proxy = AdversityProxy("127.0.0.1", 0, "127.0.0.1", port, faults, random.Random(seed))
    async with proxy:
        yield proxy


def link_to(proxy: AdversityProxy, timeout: float = 5.0) -> Link:
    return Link("127.0.0.1", proxy.port, TID, MID, TMK, timeout=timeout)


class Recorder:
    """A plain relay that keeps every byte it passes: what the proxy really put on the wire."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = bytearray()
        self.down = bytearray()
        self._tasks: set[asyncio.Task[object]] = set()

    async def __aenter__(self) -> Recorder:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            t_reader, t_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except BaseException:
            writer.close()
            raise

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, buf: bytearray
        ) -> None:
            try:
                while data := await src.read(65536):
                    buf += data
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        with contextlib.suppress(asyncio.CancelledError):  # the top of its connection
            await asyncio.gather(pipe(reader, t_writer, self.up), pipe(t_reader, writer, self.down))


def ledger_stans(url: str) -> list[str]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            query = sa.select(ledger_entries.c.stan).where(ledger_entries.c.tid == TID)
            return [row.stan for row in conn.execute(query)]
    finally:
        engine.dispose()


async def sale(link: Link, amount: int = 1234) -> str:
    ex = await link.send(
        m.sale(TID, MID, link.next_stan(), link.batch, pan=PAN, amount=amount, expiry="3012")
    )
    return ex.code


def echoes(stans: range) -> bytes:
    link = Link("127.0.0.1", 0, TID, MID, TMK)
    return b"".join(
        link.encode(m.management(TID, MID, stan, 1, NetworkCode.ECHO)) for stan in stans
    )


async def answered_stans(port: int, frames: bytes) -> list[int]:
    """Send frames in one write, half-close, and list the STANs of the replies in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(frames)
    writer.write_eof()
    data = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    return [int(codec.decode(f.body)["11"]) for f in FrameReader().feed(data)]


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# ----------------------------------------------------------------------------- no faults


async def test_without_faults_sign_on_and_sale_pass_byte_for_byte(host: RunningHost) -> None:
    async with (
        Recorder(host.port) as behind,
        proxy_to(behind.port, Faults()) as proxy,
        Recorder(proxy.port) as before,
    ):
        link = Link("127.0.0.1", before.port, TID, MID, TMK, timeout=5.0)
        assert (await link.sign_on()).code == "00"
        assert await sale(link) == "00"
        await link.close()
        await eventually(lambda: proxy.counters["connections"] == 1 and len(behind.down) > 0)
    assert bytes(before.up) == bytes(behind.up)
    assert bytes(before.down) == bytes(behind.down)
    assert bytes(before.up).startswith(SIGN_ON)
    counters = proxy.counters
    assert (counters["frames_up"], counters["frames_down"]) == (2, 2)
    assert counters["bytes_up"] == len(before.up) and counters["bytes_down"] == len(before.down)
    assert sum(counters[k] for k in ("dropped", "duplicated", "delayed", "reset", "cut")) == 0


async def test_a_frame_trickled_a_byte_at_a_time_is_passed_on_whole(host: RunningHost) -> None:
    async with proxy_to(host.port, Faults()) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        for i in range(len(SIGN_ON)):
            writer.write(SIGN_ON[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)
        reply = FrameReader().feed(await asyncio.wait_for(reader.read(8192), 5.0))
        writer.close()
    assert codec.decode(reply[0].body)["39"] == "00"
    assert proxy.counters["frames_up"] == 1


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x00\x00", id="zero-length"),
        pytest.param(b"\x13\x88" + bytes(64), id="oversized-5000"),
    ],
)
async def test_a_length_the_protocol_forbids_reaches_the_host_untouched(
    host: RunningHost, data: bytes
) -> None:
    async with proxy_to(host.port, Faults(drop=1.0)) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(data)
        assert await asyncio.wait_for(reader.read(100), 5.0) == b""  # the host hung up
        writer.close()
    assert host.server.stats["framing_errors"] == 1  # the peer's error, not hidden by us
    assert proxy.counters["unframed_bytes"] == len(data)
    assert proxy.counters["dropped"] == 0


# ----------------------------------------------------------------------------- per frame


async def test_a_dropped_sale_times_out_and_never_reaches_the_ledger(
    host: RunningHost, sqlite_url: str
) -> None:
    async with proxy_to(host.port, Faults()) as proxy:
        link = link_to(proxy, timeout=0.5)
        assert (await link.sign_on()).code == "00"
        proxy.faults = Faults(drop=1.0, direction=Direction.UP)
        with pytest.raises(LinkTimeout):
            await sale(link)
        assert proxy.counters["dropped"] == 1
        assert host.server.stats["frames"] == 1  # the sign-on only
        assert ledger_stans(sqlite_url) == []
        # switched off again, the next sale goes through on a fresh connection
        proxy.faults = Faults()
        assert await sale(link) == "00"
        assert ledger_stans(sqlite_url) == [f"{link.stan:06d}"]
        await link.close()


async def test_a_duplicated_sale_is_booked_once_and_answered_twice_alike(
    host: RunningHost, sqlite_url: str
) -> None:
    async with (
        proxy_to(host.port, Faults()) as proxy,
        Recorder(proxy.port) as before,
    ):
        link = Link("127.0.0.1", before.port, TID, MID, TMK, timeout=5.0)
        assert (await link.sign_on()).code == "00"
        proxy.faults = Faults(duplicate=1.0, direction=Direction.UP)
        assert await sale(link) == "00"
        await eventually(lambda: proxy.counters["frames_down"] == 3)
        await link.close()
    assert proxy.counters["duplicated"] == 1
    assert host.server.stats["frames"] == 3  # sign-on, the sale, the sale again
    assert ledger_stans(sqlite_url) == [f"{link.stan:06d}"]
    _, first, again = (codec.decode(f.body) for f in FrameReader().feed(bytes(before.down)))
    assert first["t"] == again["t"] == "0210"
    assert first == again, "the stored reply"


async def test_reorder_sends_each_held_frame_after_the_next_and_the_last_at_close(
    host: RunningHost,
) -> None:
    async with proxy_to(host.port, Faults(reorder=1.0, direction=Direction.UP)) as proxy:
        stans = await answered_stans(proxy.port, echoes(range(1, 6)))
    assert stans == [2, 1, 4, 3, 5]
    assert proxy.counters["reordered"] == 3


async def test_a_delay_slows_every_frame_but_the_traffic_still_works(host: RunningHost) -> None:
    loop = asyncio.get_running_loop()
    async with proxy_to(host.port, Faults(delay_ms=60, jitter_ms=20)) as proxy:
        link = link_to(proxy)
        started = loop.time()
        assert (await link.sign_on()).code == "00"
        assert await sale(link) == "00"
        elapsed = loop.time() - started
        await link.close()
    assert proxy.counters["delayed"] == 4
    assert elapsed >= 4 * 0.060


async def test_the_same_seed_makes_the_same_drop_decisions(host: RunningHost) -> None:
    frames = echoes(range(1, 21))

    async def run(seed: int) -> list[int]:
        faults = Faults(drop=0.5, direction=Direction.UP)
        async with proxy_to(host.port, faults, seed=seed) as proxy:
            stans = await answered_stans(proxy.port, frames)
        assert proxy.counters["dropped"] == 20 - len(stans)
        return stans

    first, again, other = await run(7), await run(7), await run(8)
    assert first == again
    assert first != other
    assert 0 < len(first) < 20


async def test_a_seed_drops_the_same_frames_whatever_else_is_switched_on(
    host: RunningHost,
) -> None:
    frames = echoes(range(1, 11))
    async with proxy_to(host.port, Faults(drop=0.5, direction=Direction.UP), seed=3) as proxy:
        plain = await answered_stans(proxy.port, frames)
    slow = Faults(drop=0.5, delay_ms=1, jitter_ms=2, direction=Direction.UP)
    async with proxy_to(host.port, slow, seed=3) as proxy:
        assert await answered_stans(proxy.port, frames) == plain


@pytest.mark.parametrize(
    ("faults", "action", "copies"),
    [
        (Faults(), Action.FORWARD, 1),
        (Faults(drop=1.0, duplicate=1.0, reset=1.0, reorder=1.0), Action.DROP, 1),
        (Faults(duplicate=1.0, reset=1.0, reorder=1.0), Action.RESET, 1),
        (Faults(duplicate=1.0, reorder=1.0), Action.HOLD, 1),
        (Faults(duplicate=1.0), Action.FORWARD, 2),
    ],
)
def test_the_first_fault_that_strikes_decides_the_frame(
    faults: Faults, action: Action, copies: int
) -> None:
    plan = decide(faults, random.Random(0), len(SIGN_ON))
    assert (plan.action, plan.copies) == (action, copies)


def test_a_reset_always_leaves_a_declared_frame_unfinished() -> None:
    rng = random.Random(0)
    points = {decide(Faults(reset=1.0), rng, 23).reset_at for _ in range(500)}
    assert points == set(range(3, 23))  # past the LEN prefix, short of the last byte


def test_the_splitter_keeps_frames_whole_and_bytes_untouched() -> None:
    splitter = FrameSplitter()
    pieces = [p for b in SIGN_ON + SIGN_ON[:5] for p in splitter.feed(bytes([b]))]
    assert [(p.data, p.framed) for p in pieces] == [(SIGN_ON, True)]
    assert splitter.flush() == SIGN_ON[:5]
    assert [(p.data, p.framed) for p in splitter.feed(b"\x00\x00abc")] == [(b"\x00\x00abc", False)]
    assert [(p.data, p.framed) for p in splitter.feed(SIGN_ON)] == [(SIGN_ON, False)]


# ----------------------------------------------------------------------------- per connection


async def test_cut_after_n_bytes_forwards_exactly_n_then_closes(host: RunningHost) -> None:
    async with (
        Recorder(host.port) as behind,
        proxy_to(behind.port, Faults(cut_after=30)) as proxy,
    ):
        link = link_to(proxy)
        with pytest.raises(LinkError, match="host closed the connection"):
            await link.sign_on()
        await eventually(lambda: len(behind.up) == 30)
    assert bytes(behind.up) == SIGN_ON[:30]
    assert behind.down == b""
    assert (proxy.counters["cut"], proxy.counters["bytes_up"]) == (1, 30)
    assert host.server.stats["frames"] == 0


async def test_cut_after_the_whole_exchange_lets_it_through_then_closes(
    host: RunningHost,
) -> None:
    async with proxy_to(host.port, Faults()) as proxy:
        link = link_to(proxy)
        assert (await link.sign_on()).code == "00"
        await link.close()
        exchange = proxy.counters["bytes_up"] + proxy.counters["bytes_down"]
        proxy.faults = Faults(cut_after=exchange)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(SIGN_ON)
        reply = await asyncio.wait_for(reader.read(), 5.0)  # to end of stream: the cut
        writer.close()
    assert codec.decode(FrameReader().feed(reply)[0].body)["39"] == "00"
    assert proxy.counters["cut"] == 1


async def test_a_reset_mid_frame_spares_the_other_connections(host: RunningHost) -> None:
    async with (
        Recorder(host.port) as behind,
        proxy_to(behind.port, Faults(reset=1.0, direction=Direction.UP)) as proxy,
    ):
        with pytest.raises(LinkError, match=r"connection lost: .*reset by peer"):
            await link_to(proxy).sign_on()
        await eventually(lambda: host.server.stats["connections"] == 1)
        proxy.faults = Faults()
        other = link_to(proxy)
        assert (await other.sign_on()).code == "00"
        await other.close()
    assert proxy.counters["reset"] == 1
    assert host.server.stats["connections"] == 2
    assert host.server.stats["frames"] == 1  # the half frame was never taken for one
    cut_short = bytes(behind.up[: behind.up.find(SIGN_ON)])
    assert 3 <= len(cut_short) < len(SIGN_ON) and SIGN_ON.startswith(cut_short)


async def test_a_reply_reset_mid_frame_leaves_a_booked_sale_the_terminal_never_saw(
    host: RunningHost, sqlite_url: str
) -> None:
    async with proxy_to(host.port, Faults()) as proxy:
        link = link_to(proxy)
        assert (await link.sign_on()).code == "00"
        proxy.faults = Faults(reset=1.0, direction=Direction.DOWN)
        with pytest.raises(LinkError, match=r"connection lost: .*reset by peer"):
            await sale(link)
        # the host booked it: this is the sale a terminal must reverse (protocol §5)
        assert ledger_stans(sqlite_url) == [f"{link.stan:06d}"]
        proxy.faults = Faults()
        other = link_to(proxy)
        assert (await other.sign_on()).code == "00"
        await other.close()
    assert proxy.counters["reset"] == 1
    assert host.server.stats["connections"] == 2


async def test_a_stall_holds_the_traffic_then_lets_it_go(host: RunningHost) -> None:
    loop = asyncio.get_running_loop()
    async with proxy_to(host.port, Faults(stall_after=1, stall_s=0.3)) as proxy:
        link = link_to(proxy)
        started = loop.time()
        assert (await link.sign_on()).code == "00"  # frame 1 passes; the reply is frame 2
        assert loop.time() - started >= 0.3
        assert await sale(link) == "00"  # once per connection
        await link.close()
    assert proxy.counters["stalled"] == 1


async def test_refusing_fails_new_connects_and_spares_open_ones(host: RunningHost) -> None:
    async with proxy_to(host.port, Faults(refuse=True)) as proxy:
        with pytest.raises(LinkUnreachable):
            await link_to(proxy).connect()
        proxy.faults = Faults()
        link = link_to(proxy)
        assert (await link.sign_on()).code == "00"
        proxy.faults = Faults(refuse=True)
        with pytest.raises(LinkUnreachable):
            await link_to(proxy).connect()
        assert await sale(link) == "00"  # the open connection carries on
        await link.close()
    assert proxy.counters["connections"] == 1


async def test_an_unreachable_target_resets_the_terminal(host: RunningHost) -> None:
    async with proxy_to(host.port, Faults()) as probe:
        port = probe.port  # free again once the proxy closes
    async with proxy_to(port, Faults()) as proxy:
        with pytest.raises(LinkError):
            await link_to(proxy).sign_on()
    assert proxy.counters["target_unreachable"] == 1


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"drop": 1.5}, "--drop must be a probability from 0 to 1, got 1.5"),
        ({"duplicate": -0.1}, "--duplicate must be a probability from 0 to 1, got -0.1"),
        ({"reorder": float("nan")}, "--reorder must be a probability from 0 to 1, got nan"),
        ({"reset": True}, "--reset must be a probability from 0 to 1, got True"),
        ({"delay_ms": -1}, "--delay must be a non-negative number of milliseconds, got -1"),
        ({"jitter_ms": -5.0}, "--jitter must be a non-negative number of milliseconds, got -5.0"),
        ({"stall_s": -1}, "--stall must be a non-negative number of seconds, got -1"),
        ({"stall_after": 3}, "--stall-after needs --stall (how many seconds to stall)"),
        ({"cut_after": -1}, "--cut-after must be a whole number ≥ 0, got -1"),
        ({"direction": "sideways"}, "--direction must be one of both, up, down, got 'sideways'"),
    ],
)
def test_bad_faults_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Faults(**options)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_a_summary_lists_only_the_faults_in_force() -> None:
    assert Faults().summary() == "none"
    faults = Faults(drop=0.25, delay_ms=50, stall_after=2, stall_s=1.5, refuse=True)
    assert faults.summary() == "drop=0.25 delay=50ms stall-after=2 stall=1.5s refuse"
    assert Faults(direction="up").direction is Direction.UP  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- CLI


def test_the_cli_has_help_for_every_fault_option() -> None:
    result = CliRunner().invoke(app, ["fault", "proxy", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in ("--listen", "--target", "--drop", "--delay", "--jitter", "--duplicate",
                   "--reorder", "--reset", "--stall-after", "--stall", "--cut-after",
                   "--refuse", "--direction", "--seed", "--json"):  # fmt: skip
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--drop", "2"], "--drop must be a probability from 0 to 1, got 2.0"),
        (["--target", "nowhere"], "--target must be HOST:PORT with a port from 1 to 65535"),
        (["--listen", "x:99999"], "--listen must be [HOST:]PORT with a port from 0 to 65535"),
    ],
)
def test_the_cli_refuses_bad_options_with_one_line(args: list[str], message: str) -> None:
    options = {"--listen": "0", "--target": "127.0.0.1:5000", args[0]: args[1]}
    cmd = [word for pair in options.items() for word in pair]
    result = CliRunner().invoke(app, ["fault", "proxy", *cmd])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


async def test_the_cli_proxy_relays_until_sigterm_and_reports_its_counters(
    host: RunningHost,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "possettle.cli.main", "fault", "proxy", "--listen", "0",
        "--target", f"127.0.0.1:{host.port}", "--cut-after", "10000", "--seed", "5", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        port = None
        while port is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), 30.0)).decode()
            assert line, "the proxy exited before listening"
            if found := re.match(r"proxy 127\.0\.0\.1:(\d+) → ", line):
                port = int(found.group(1))
        link = Link("127.0.0.1", port, TID, MID, TMK, timeout=5.0)
        assert (await link.sign_on()).code == "00"
        await link.close()
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 30.0)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    report = json.loads(out)
    assert (report["seed"], report["faults"]) == (5, "cut-after=10000")
    counters = report["counters"]
    assert (counters["connections"], counters["frames_up"], counters["frames_down"]) == (1, 1, 1)
    assert counters["cut"] == 0
