"""An asyncio TCP proxy that can cut a link, for fault tests and bench/soak.py.

Put it between the bridge and the simulated Asterisk:

    proxy = LinkProxy("127.0.0.1", ami_port); port = await proxy.start()
    await proxy.cut(); ...; await proxy.restore()     # or: await proxy.cut_for(5)

A cut aborts every open connection (both sides see a reset) and then,
with mode="refuse", closes the listening socket (connection refused: what
a stopped Asterisk or a rebooting host looks like), or with
mode="blackhole" keeps accepting but never forwards a byte (a firewall or
a dead route behind a load balancer).
"""

from __future__ import annotations

import asyncio
import contextlib
import time


class LinkProxy:
    def __init__(self, upstream_host: str, upstream_port: int, mode: str = "refuse") -> None:
        if mode not in ("refuse", "blackhole"):
            raise ValueError("mode is refuse or blackhole")
        self.upstream = (upstream_host, upstream_port)
        self.mode = mode
        self.port = 0
        self.is_cut = False
        self.cuts = 0
        self.restored_at = 0.0  # time.monotonic() of the last restore
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        await self._close_listener()
        self._abort_all()
        for task in list(self._pipes):
            task.cancel()
        if self._pipes:
            await asyncio.wait(list(self._pipes), timeout=1)

    async def cut(self) -> None:
        """Cut the link now: open connections die, new ones fail."""
        self.is_cut = True
        self.cuts += 1
        if self.mode == "refuse":
            await self._close_listener()
        self._abort_all()

    async def restore(self) -> None:
        if self.mode == "refuse" and self._server is None:
            await self.start(self.port)
        self.is_cut = False
        self.restored_at = time.monotonic()

    async def cut_for(self, seconds: float) -> None:
        await self.cut()
        try:
            await asyncio.sleep(seconds)
        finally:
            await self.restore()

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    def _abort_all(self) -> None:
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.is_cut:  # blackhole: hold the connection open, say nothing
            try:
                while await reader.read(65536):
                    pass
            except ConnectionError:
                pass
            finally:
                self._writers.discard(writer)
                writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._writers.discard(writer)
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        tasks = [asyncio.create_task(self._pipe(reader, up_writer)), asyncio.create_task(self._pipe(up_reader, writer))]
        self._pipes.update(tasks)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()
            self._pipes.difference_update(tasks)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
