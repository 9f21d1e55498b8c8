"""bench/cluster.py's websocket clients, in worker processes of their own.

Thousands of websockets in the process that also runs the simulated PBX made
the bench measure itself: that process's event loop woke 100 ms to 3.9 s
late (p99 / max, `bench_loop_lag_ms`), and every PBX event and every receipt
waited for it.  Here each worker runs a share of the clients on its own loop
(uvloop when installed) and timestamps each receipt with time.monotonic(),
which is CLOCK_MONOTONIC, one clock for every process on a Linux host, so
the parent joins receipts with the moments its PBX emitted the flips.

A wallboard client counts its deltas without decoding them (a browser
decodes on its own machine); an agent-topic client decodes each delta and
records every change of its probe's paused state: (seq, paused, received).

The clients get ~40 MB/s of board deltas at 500 wallboards (4 Hz, ~20 KB
each) and ~3,700 agent deltas/s.  Through the `websockets` library that
cost the workers a third of a core, on the 2 cores the nodes run on (a
real client is a browser on another machine).  So by default a client
(`RawClient`) speaks the protocol itself: the handshake, a masked
subscribe, then it reads the socket in large chunks, walks the frame
headers, answers the server's pings, and timestamps each message with the
read that brought it.  `CC_BENCH_LIB_CLIENTS=1` puts them back on the
library (the runs before 2026-11-26 evening).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from urllib.parse import urlsplit
from multiprocessing.connection import Connection
from typing import Any

# (token, topic, ws url, node index) per client
Spec = tuple[str, str, str, int]


class WClient:
    def __init__(self, token: str, topic: str, url: str, node_index: int) -> None:
        self.token = token
        self.topic = topic
        self.url = url
        self.node_index = node_index
        self.deltas = 0
        self.bytes = 0  # delta text received (characters)
        self.state: bool | None = None  # the probe's paused state as this client last saw it
        self.changes: list[tuple[int, bool, float]] = []  # (seq, paused, received)
        self.error = ""
        self.ready = False  # its snapshot came: it follows the topic

    async def run(self) -> None:
        """Connect (again, as a page does, while the snapshot has not come), then count."""
        for attempt in range(5):
            await self._run()
            if self.ready or not self.error:
                return
            await asyncio.sleep(1 + attempt)

    async def _run(self) -> None:
        import websockets

        agent = self.topic.startswith("agent:")
        self.error = ""
        try:
            async with websockets.connect(self.url + f"?token={self.token}", open_timeout=60, max_size=None, ping_interval=None) as ws:
                await ws.send(json.dumps({"op": "subscribe", "topic": self.topic}))
                async for raw in ws:
                    self.got(raw.encode(), agent, time.monotonic())
        except Exception as exc:  # noqa: BLE001 - counted as a failed client
            self.error = f"{type(exc).__name__}: {exc}"[:120]

    def got(self, raw: bytes, agent: bool, now: float) -> None:
        """One text message, received at `now`."""
        if not self.ready and raw.startswith(b'{"type":"snapshot"'):
            self.ready = True
        if not raw.startswith(b'{"type":"delta"'):
            return
        self.deltas += 1
        self.bytes += len(raw)
        if not agent:
            return
        m = json.loads(raw)
        view = m["data"].get("agent")
        if view:
            paused = view.get("state") == "paused"
            if paused != self.state:
                self.changes.append((m["seq"], paused, now))
            self.state = paused


class RawClient(WClient):
    """A client on a bare socket (see the module's docstring)."""

    async def _run(self) -> None:
        agent = self.topic.startswith("agent:")
        self.error = ""
        writer = None
        try:
            u = urlsplit(self.url)
            reader, writer = await asyncio.open_connection(u.hostname, u.port or 80, limit=1 << 20)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                f"GET {u.path}?token={self.token} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            writer.write(_frame(0x1, json.dumps({"op": "subscribe", "topic": self.topic}).encode()))
            buf = b""
            while True:
                chunk = await reader.read(1 << 18)
                now = time.monotonic()
                if not chunk:
                    raise ConnectionError("closed by the server")
                buf += chunk
                pos = 0
                while True:  # every whole frame in buf
                    if len(buf) - pos < 2:
                        break
                    b0, b1 = buf[pos], buf[pos + 1]
                    n, hdr = b1 & 0x7F, 2
                    if n == 126:
                        if len(buf) - pos < 4:
                            break
                        n, hdr = struct.unpack_from("!H", buf, pos + 2)[0], 4
                    elif n == 127:
                        if len(buf) - pos < 10:
                            break
                        n, hdr = struct.unpack_from("!Q", buf, pos + 2)[0], 10
                    if len(buf) - pos < hdr + n:
                        break
                    body = buf[pos + hdr : pos + hdr + n]
                    pos += hdr + n
                    op = b0 & 0x0F
                    if op == 0x9:  # ping: pong with its data
                        writer.write(_frame(0xA, body))
                    elif op == 0x8:
                        raise ConnectionError("closed by the server")
                    elif op == 0x1:
                        self.got(body, agent, now)
                buf = buf[pos:]
        except Exception as exc:  # noqa: BLE001 - counted as a failed client
            self.error = f"{type(exc).__name__}: {exc}"[:120]
        finally:
            if writer is not None:
                writer.close()


def _frame(op: int, data: bytes) -> bytes:
    """One client frame (FIN, masked as RFC 6455 requires of clients)."""
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x80 | op]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def _serve(conn: Connection, specs: list[Spec]) -> None:
    lib = os.environ.get("CC_BENCH_LIB_CLIENTS") == "1"
    clients = [WClient(*s) if lib else RawClient(*s) for s in specs]
    tasks = []
    for k, c in enumerate(clients):
        tasks.append(asyncio.create_task(c.run()))
        if k % 25 == 24:
            await asyncio.sleep(0.25)  # 100 connects/s per worker
    loop = asyncio.get_running_loop()
    lags: list[float] = []

    async def watch() -> None:  # how late this worker's loop wakes
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - t - 0.01)

    watcher = asyncio.create_task(watch())
    conn.send("connecting")
    while True:
        cmd = await loop.run_in_executor(None, conn.recv)
        if cmd == "reset":  # the measured window starts: what came before is not counted
            for c in clients:
                c.changes = []
            lags.clear()
            conn.send(sum(c.deltas for c in clients))
        elif cmd == "ready":
            conn.send(sum(c.ready for c in clients))
        elif cmd == "deltas":
            conn.send(sum(c.deltas for c in clients))
        elif cmd == "bytes":  # (agent-topic, wallboard) delta characters so far
            conn.send((sum(c.bytes for c in clients if c.topic.startswith("agent:")), sum(c.bytes for c in clients if not c.topic.startswith("agent:"))))
        elif cmd == "lags":
            conn.send(list(lags))
        elif cmd == "report":
            conn.send([(c.topic, c.node_index, c.changes, c.error, c.ready) for c in clients])
        elif cmd == "stop":
            watcher.cancel()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            conn.send("stopped")
            return


def worker_main(conn: Connection, specs: list[Spec], batch: bool = False) -> None:
    if batch:
        # SCHED_BATCH: woken by a node's send, a client does not preempt that node
        # mid-fan-out (on a real site the browsers are other machines).  It still
        # gets its share of the CPU, after the node's burst: its receipts, and so
        # the latency measured, can only come later for it.
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    import logging

    logging.getLogger("asyncio").setLevel(logging.ERROR)  # "socket.send() raised exception." per client when the nodes stop
    asyncio.run(_serve(conn, specs))


class Workers:
    """The parent's side: start the workers, then ask them all the same thing."""

    def __init__(self, specs: list[Spec], n: int, batch: bool = False) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for w in range(n):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(child, specs[w::n], batch), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)

    async def ask(self, cmd: str) -> list[Any]:
        for c in self.conns:
            c.send(cmd)
        return await asyncio.gather(*(asyncio.to_thread(c.recv) for c in self.conns))

    async def started(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(c.recv) for c in self.conns))

    def cpu_s(self) -> float:
        from pathlib import Path
        import os

        total = 0.0
        for p in self.procs:
            try:
                fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ask("stop"), 30)
        except Exception:  # noqa: BLE001 - a stuck worker is killed below
            pass
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()
