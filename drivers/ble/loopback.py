"""A radio that is a Unix socket: the wearable emulator at the other end speaks GATT in JSON lines.

This lets the daemon run against emulated wearables (the demo, the tests, the
benchmark) through exactly the driver it uses with BlueZ, without importing
the simulators: only the bytes of the profile cross the socket.

Hub -> emulator: ``{"op": "scan"}``, ``{"op": "connect", "address": A}``,
``{"op": "notify", "address": A, "uuid": U}``, ``{"op": "read", "address": A,
"uuid": U, "id": N}``, ``{"op": "write", "address": A, "uuid": U, "data": HEX}``,
``{"op": "disconnect", "address": A}``, ``{"op": "confirm", "address": A, "id": N}``.
Emulator -> hub: ``{"ev": "advert", "address", "name", "rssi"}``,
``{"ev": "connected"|"disconnected", "address"}``, ``{"ev": "error", "address",
"error"}``, ``{"ev": "notification", "address", "uuid", "data": HEX}``,
``{"ev": "indication", "address", "uuid", "data": HEX, "id": N}``,
``{"ev": "read", "id", "data": HEX}``.

An indication is confirmed after its callback has taken it, as BlueZ confirms
one (ATT Handle Value Confirmation) for a subscriber: the device sends its next
kept measurement only then, and keeps one that was never confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from drivers.ble.driver import Advert


class LoopbackLink:
    def __init__(self, radio: LoopbackRadio, address: str) -> None:
        self._radio = radio
        self.address = address

    async def start_notify(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        self._radio._callbacks[(self.address, uuid)] = callback
        await self._radio._send({"op": "notify", "address": self.address, "uuid": uuid})

    async def read(self, uuid: str) -> bytes:
        return await self._radio._read(self.address, uuid)

    async def write(self, uuid: str, data: bytes) -> None:
        await self._radio._send({"op": "write", "address": self.address, "uuid": uuid, "data": data.hex()})

    async def disconnect(self) -> None:
        await self._radio._send({"op": "disconnect", "address": self.address})


class LoopbackRadio:
    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._on_advert: Callable[[Advert], None] | None = None
        self._callbacks: dict[tuple[str, str], Callable[[bytes], None]] = {}
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._connecting: dict[str, asyncio.Future[None]] = {}
        self._on_disconnect: dict[str, Callable[[], None]] = {}
        self._next_id = 0
        self.malformed = 0

    async def start_scan(self, on_advert: Callable[[Advert], None]) -> None:
        reader, self._writer = await asyncio.open_unix_connection(self.path)
        self._on_advert = on_advert
        self._reader_task = asyncio.create_task(self._read_loop(reader))
        await self._send({"op": "scan"})

    async def stop_scan(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.close()
        for lost in list(self._on_disconnect.values()):
            lost()
        self._on_disconnect.clear()

    async def connect(self, address: str, on_disconnect: Callable[[], None], attempt_timeout_s: float) -> LoopbackLink:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._connecting[address.upper()] = done
        await self._send({"op": "connect", "address": address})
        async with asyncio.timeout(attempt_timeout_s):
            await done
        self._on_disconnect[address.upper()] = on_disconnect
        return LoopbackLink(self, address)

    async def _read(self, address: str, uuid: str) -> bytes:
        self._next_id += 1
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = fut
        await self._send({"op": "read", "address": address, "uuid": uuid, "id": self._next_id})
        return await fut

    async def _send(self, msg: dict[str, Any]) -> None:
        if self._writer is None:
            raise ConnectionError("the emulated radio is not connected")
        self._writer.write(json.dumps(msg).encode() + b"\n")
        await self._writer.drain()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                try:
                    self._handle(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    self.malformed += 1
        finally:
            for lost in list(self._on_disconnect.values()):
                lost()
            self._on_disconnect.clear()

    def _handle(self, msg: dict[str, Any]) -> None:
        ev = msg["ev"]
        address = str(msg.get("address", "")).upper()
        if ev == "advert" and self._on_advert is not None:
            self._on_advert(Advert(msg["address"], msg.get("name"), msg.get("rssi")))
        elif ev in ("notification", "indication"):
            cb = self._callbacks.get((msg["address"], msg["uuid"]))
            if cb is not None:
                cb(bytes.fromhex(msg["data"]))
            if ev == "indication" and self._writer is not None:
                confirm = {"op": "confirm", "address": msg["address"], "id": int(msg["id"])}
                self._writer.write(json.dumps(confirm).encode() + b"\n")
        elif ev == "read":
            fut = self._pending.pop(int(msg["id"]), None)
            if fut is not None and not fut.done():
                fut.set_result(bytes.fromhex(msg["data"]))
        elif ev == "connected":
            fut_c = self._connecting.pop(address, None)
            if fut_c is not None and not fut_c.done():
                fut_c.set_result(None)
        elif ev == "error":
            fut_c = self._connecting.pop(address, None)
            if fut_c is not None and not fut_c.done():
                fut_c.set_exception(ConnectionError(msg.get("error", "refused")))
        elif ev == "disconnected":
            lost = self._on_disconnect.pop(address, None)
            if lost is not None:
                with contextlib.suppress(Exception):
                    lost()
