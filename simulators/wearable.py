"""Virtual wearables speaking the carehub profile, reachable through the loopback radio.

Each virtual wearable advertises, accepts a connection, and once the hub has
subscribed streams accelerometer batches of 10 samples in real time: the
recording it was given to play (for instance a fall trial from
../shared/data), or a person sitting quietly when it has nothing to play. It
can press its button, report its battery and go silent. The bytes are built by
the profile's own encoder, so the hub decodes exactly what firmware would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from detection.events import ButtonAction
from drivers.ble.profiles.carehub import ACCEL_BATCH, BUTTON, encode_accel, encode_button
from drivers.ble.profiles.sig import BATTERY_LEVEL

BATCH = 10


def synthetic_fall(rng: np.random.Generator, fs: float = 50.0) -> np.ndarray:
    """Walking, a 0.4 s free fall, a hard impact, then lying still on the side (float g, (n, 3))."""
    t = np.arange(int(5 * fs)) / fs
    bounce = 1 + 0.3 * np.sin(2 * np.pi * 1.8 * t)
    walk = np.array([0.0, 0.0, 1.0]) * bounce[:, None] + rng.normal(0, 0.05, (len(t), 3))
    freefall = rng.normal(0, 0.05, (int(0.4 * fs), 3)) + np.array([0.0, 0.0, 0.15])
    impact = np.array([[1.5, 0.5, 6.0], [2.5, 1.0, 3.0], [0.5, 0.2, 1.5]])
    lying = np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.01, (int(10 * fs), 3))
    return np.concatenate([walk, freefall, impact, lying])


class VirtualWearable:
    def __init__(self, address: str, name: str = "carehub pendant", fs: float = 50.0, seed: int = 0) -> None:
        self.address = address.upper()
        self.name = name
        self.fs = fs
        self.battery_pct = 87
        self.presses = 0
        self.silent = False
        self.worn = True
        self._queue: deque[np.ndarray] = deque()
        self._rng = np.random.default_rng(seed)
        self.seq = 0
        self.sent_batches = 0

    def play(self, samples_g: np.ndarray) -> None:
        """Queue a recording (float g, (n, 3)) to stream next."""
        for i in range(0, len(samples_g), BATCH):
            self._queue.append(np.asarray(samples_g[i:i + BATCH], dtype=float))

    def queued_seconds(self) -> float:
        return sum(len(b) for b in self._queue) / self.fs

    def next_batch(self) -> np.ndarray:
        if self._queue:
            return self._queue.popleft()
        # Sitting quietly, sensor tilted: gravity plus a little noise.
        return np.array([0.1, 0.2, 0.97]) + self._rng.normal(0, 0.01, (BATCH, 3))


class WearableEmulator:
    """Serve virtual wearables on a Unix socket; run it in a thread with ``start()``."""

    def __init__(self, path: str | Path, wearables: list[VirtualWearable]) -> None:
        self.path = str(path)
        self.wearables = {w.address: w for w in wearables}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._subscribed: set[tuple[str, str]] = set()
        self._connected: set[str] = set()
        # Indications, as ATT has them: one outstanding per link until the hub confirms it; what is
        # not confirmed stays in the device (a cuff keeps an unsent measurement) and goes again later.
        self._indications: dict[str, deque[tuple[str, bytes]]] = {}
        self._awaiting: dict[str, tuple[int, str, bytes, asyncio.TimerHandle]] = {}
        self._next_indication = 0
        self.att_timeout_s = 30.0  # ATT's transaction timeout: no confirmation, the link is dropped
        self.confirmed: dict[str, int] = {}
        self._server: asyncio.AbstractServer | None = None

    # --- control from any thread ---------------------------------------------------

    def start(self) -> WearableEmulator:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the wearable emulator did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()

    def press(self, address: str, action: ButtonAction = ButtonAction.HELP) -> None:
        w = self.wearables[address.upper()]
        w.presses += 1
        self._call(self._notify, w.address, BUTTON, encode_button(w.presses, action))

    def set_battery(self, address: str, pct: int) -> None:
        w = self.wearables[address.upper()]
        w.battery_pct = pct
        self._call(self._notify, w.address, BATTERY_LEVEL, bytes([pct]))

    def notify(self, address: str, uuid: str, data: bytes) -> None:
        """One notification or indication on any characteristic the hub subscribed to (the SIG health
        profiles' measurements, made with their codecs' encoders or golden bytes)."""
        self._call(self._notify, address.upper(), uuid, data)

    def indicate(self, address: str, uuid: str, data: bytes) -> None:
        """A measurement the device keeps until the hub confirms it: sent as an indication when the
        hub is connected and subscribed to ``uuid`` (at once, or on the next connection), one at a
        time, each after the previous one's confirmation, as ATT requires."""
        self._call(self._queue_indication, address.upper(), uuid, data)

    def silence(self, address: str, silent: bool = True) -> None:
        """Out of range or switched off: it stops advertising and drops its link."""
        w = self.wearables[address.upper()]
        w.silent = silent
        if silent:
            self._call(self._drop, w.address)

    def _call(self, fn: Any, *args: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn, *args)

    # --- the emulator's own loop ----------------------------------------------------

    async def _shutdown(self) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.get_running_loop().stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()
        self._server = self._loop.run_until_complete(asyncio.start_unix_server(self._client, self.path))
        for w in self.wearables.values():
            self._loop.create_task(self._stream(w))
        self._loop.create_task(self._advertise())
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    def _send(self, msg: dict[str, Any]) -> None:
        data = json.dumps(msg).encode() + b"\n"
        for w in list(self._writers):
            if w.is_closing():
                self._writers.remove(w)
                continue
            w.write(data)

    def _notify(self, address: str, uuid: str, data: bytes) -> None:
        if (address, uuid) in self._subscribed and address in self._connected:
            self._send({"ev": "notification", "address": address, "uuid": uuid, "data": data.hex()})

    def _drop(self, address: str) -> None:
        if address in self._connected:
            self._connected.discard(address)
            self._subscribed = {k for k in self._subscribed if k[0] != address}
            self._unconfirmed(address)
            self._send({"ev": "disconnected", "address": address})

    def _queue_indication(self, address: str, uuid: str, data: bytes) -> None:
        self._indications.setdefault(address, deque()).append((uuid, data))
        self._pump(address)

    def _pump(self, address: str) -> None:
        """Send the device's next kept measurement whose characteristic the hub subscribed to."""
        queue = self._indications.get(address)
        if address in self._awaiting or not queue or address not in self._connected or self._loop is None:
            return
        for i, (uuid, data) in enumerate(queue):
            if (address, uuid) in self._subscribed:
                del queue[i]
                self._next_indication += 1
                timer = self._loop.call_later(self.att_timeout_s, self._drop, address)
                self._awaiting[address] = (self._next_indication, uuid, data, timer)
                self._send({"ev": "indication", "address": address, "uuid": uuid, "data": data.hex(),
                            "id": self._next_indication})
                return

    def _confirm(self, address: str, ident: int) -> None:
        awaiting = self._awaiting.get(address)
        if awaiting is None or awaiting[0] != ident:
            return  # a confirmation for nothing outstanding: ATT ignores it too
        awaiting[3].cancel()
        del self._awaiting[address]
        self.confirmed[address] = self.confirmed.get(address, 0) + 1
        self._pump(address)

    def _unconfirmed(self, address: str) -> None:
        awaiting = self._awaiting.pop(address, None)
        if awaiting is not None:
            awaiting[3].cancel()
            self._indications.setdefault(address, deque()).appendleft((awaiting[1], awaiting[2]))

    async def _advertise(self) -> None:
        while True:
            for w in self.wearables.values():
                if not w.silent and w.address not in self._connected:
                    self._send({"ev": "advert", "address": w.address, "name": w.name, "rssi": -58.0})
            await asyncio.sleep(1.0)

    async def _stream(self, w: VirtualWearable) -> None:
        period = BATCH / w.fs
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            next_t += period
            await asyncio.sleep(max(0.0, next_t - loop.time()))
            if (w.address, ACCEL_BATCH) not in self._subscribed or w.silent:
                next_t = loop.time()
                continue
            batch = w.next_batch()
            w.seq = (w.seq + 1) % 65536
            self._notify(w.address, ACCEL_BATCH, encode_accel(w.seq, w.fs, np.round(batch * 1000), worn=w.worn))
            w.sent_batches += 1

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while line := await reader.readline():
                try:
                    self._op(json.loads(line))
                except (ValueError, KeyError):
                    continue
        except ConnectionError:
            pass  # the hub went away (stopped, crashed): as a radio link that drops, not an error here
        finally:
            with contextlib.suppress(ValueError):
                self._writers.remove(writer)
            for address in list(self._awaiting):
                self._unconfirmed(address)
            self._connected.clear()
            self._subscribed.clear()

    def _op(self, msg: dict[str, Any]) -> None:
        op = msg["op"]
        address = str(msg.get("address", "")).upper()
        w = self.wearables.get(address)
        if op == "scan":
            return
        if w is None or w.silent:
            if op == "connect":
                self._send({"ev": "error", "address": address, "error": "device not found"})
            return
        if op == "connect":
            self._connected.add(address)
            self._send({"ev": "connected", "address": address})
        elif op == "notify":
            self._subscribed.add((address, msg["uuid"]))
            self._pump(address)
        elif op == "confirm":
            self._confirm(address, int(msg["id"]))
        elif op == "read":
            value = {BUTTON: encode_button(w.presses), BATTERY_LEVEL: bytes([w.battery_pct])}.get(msg["uuid"], b"")
            self._send({"ev": "read", "id": msg["id"], "data": value.hex()})
        elif op == "disconnect":
            self._drop(address)
