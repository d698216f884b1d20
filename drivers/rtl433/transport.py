"""rtl_433's events, from a child process the driver supervises or from its MQTT output.

``process``: the driver runs ``rtl_433 -F json`` (the configured command line),
reads one JSON event per line from its stdout, keeps the last lines of its
stderr for the log, and restarts it with capped, jittered backoff whenever it
exits (the SDR dongle was pulled, the USB bus reset). ``mqtt``: rtl_433 runs
elsewhere with ``-F mqtt`` and the driver subscribes to its events topic
(default ``rtl_433/+/events``) on that broker with paho, reconnecting by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from detection.events import Observation, Stamp
from drivers.mqtt_feed import Broker, MqttFeed
from drivers.rtl433.codec import MAX_LINE, Heard, Problem, Rtl433Codec, Rtl433Device

log = structlog.get_logger("carehub.rtl433")

BAD_LOG_S = 60.0
MAX_BACKLOG = 5000
HEARD_KEPT = 50


@dataclass(frozen=True)
class MqttSource:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: str = ""
    username: str = ""
    password: str = ""
    topic: str = "rtl_433/+/events"
    client_id: str = "carehub-rtl433"


class Rtl433Driver:
    name = "rtl433"

    def __init__(self, devices: Iterable[Rtl433Device], emit: Callable[[Observation], None],
                 clock: Callable[[], Stamp], *, command: Sequence[str] = ("rtl_433", "-F", "json"),
                 mqtt_source: MqttSource | None = None, restart_min_s: float = 1.0,
                 restart_max_s: float = 60.0, on_heard: Callable[[Heard, Stamp], None] | None = None) -> None:
        self.codec = Rtl433Codec(devices)
        self.command = list(command)
        self.mqtt_source = mqtt_source
        self._emit = emit
        self._clock = clock
        self._restart_min = restart_min_s
        self._restart_max = restart_max_s
        self.counters: Counter[str] = Counter()
        self.running = False
        self.heard: deque[Heard] = deque(maxlen=HEARD_KEPT)  # what the radio heard lately, for learn mode
        self._on_heard = on_heard  # the hub's learn mode: every transmission, configured or not
        self._logged_at: dict[str, float] = {}

    def update_devices(self, devices: Iterable[Rtl433Device]) -> None:
        self.codec.update_devices(devices)

    def status(self) -> dict[str, Any]:
        source = (f"mqtt {self.mqtt_source.host}:{self.mqtt_source.port} {self.mqtt_source.topic}"
                  if self.mqtt_source else " ".join(self.command))
        return {"source": source, "running": self.running, "counters": dict(self.counters),
                "heard": [_heard_dict(h) for h in self.heard]}

    async def run(self) -> None:
        if self.mqtt_source is not None:
            await self._run_mqtt(self.mqtt_source)
        else:
            await self._run_process()

    # --- events -----------------------------------------------------------------------------

    def handle_line(self, raw: bytes | str) -> None:
        self.counters["events"] += 1
        at = self._clock()
        try:
            decoded = self.codec.decode(raw, at)
        except Exception:  # the codec is tested, but no line may stop the hub
            self.counters["decode_crashed"] += 1
            if self._due("decode_crashed"):
                log.exception("rtl433.decode_crashed")
            return
        if decoded.heard is not None:
            self.heard.append(decoded.heard)
        if decoded.problem is not None:
            self.counters[decoded.problem.value] += 1
            if decoded.problem is not Problem.UNKNOWN_DEVICE and self._due(decoded.problem.value):
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                log.warning("rtl433.bad_event", problem=decoded.problem.value, line=text[:160],
                            count=self.counters[decoded.problem.value])
        for obs in decoded.observations:
            self.counters["observations"] += 1
            self._emit(obs)
        if decoded.heard is not None and self._on_heard is not None:
            try:  # after the observations: learn mode's bookkeeping must never cost a help press
                self._on_heard(decoded.heard, at)
            except Exception:
                self.counters["learn_failed"] += 1
                if self._due("learn_failed"):
                    log.exception("rtl433.learn_failed")

    def _due(self, kind: str) -> bool:
        now = time.monotonic()
        last = self._logged_at.get(kind)
        if last is not None and now - last < BAD_LOG_S:
            return False
        self._logged_at[kind] = now
        return True

    # --- a child process --------------------------------------------------------------------

    async def _run_process(self) -> None:
        delay = self._restart_min
        while True:
            started = time.monotonic()
            try:
                proc = await asyncio.create_subprocess_exec(
                    *self.command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE, limit=MAX_LINE + 2)
            except OSError as exc:
                self.counters["start_failed"] += 1
                if self._due("start_failed"):
                    log.warning("rtl433.start_failed", command=self.command[0], error=str(exc),
                                retry_s=round(delay, 1))
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self._restart_max)
                continue
            self.running = True
            self.counters["started"] += 1
            log.info("rtl433.started", pid=proc.pid, command=self.command[0])
            stderr_tail: deque[str] = deque(maxlen=5)
            assert proc.stdout is not None and proc.stderr is not None
            drain = asyncio.create_task(_drain(proc.stderr, stderr_tail))
            try:
                await self._read_stdout(proc.stdout)
                code = await proc.wait()
            finally:
                self.running = False
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.terminate()
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(5):
                            await proc.wait()
                    if proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            proc.kill()
                drain.cancel()
                await asyncio.gather(drain, return_exceptions=True)
            self.counters["exited"] += 1
            if time.monotonic() - started > self._restart_max:
                delay = self._restart_min  # it ran well for a while: not a crash loop
            log.warning("rtl433.exited", code=code, restart_s=round(delay, 1), stderr=" | ".join(stderr_tail))
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._restart_max)

    async def _read_stdout(self, stdout: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stdout.readline()
            except ValueError:  # a line over the limit: dropped by the reader, counted here
                self.counters[Problem.OVERSIZE.value] += 1
                continue
            if not raw:
                return
            raw = raw.strip()
            if raw:
                self.handle_line(raw)

    # --- MQTT -------------------------------------------------------------------------------

    async def _run_mqtt(self, s: MqttSource) -> None:
        broker = Broker(s.host, s.port, s.client_id, tls=s.tls, ca_file=s.ca_file, username=s.username,
                        password=s.password, protocol="3.1.1", reconnect_min_s=self._restart_min,
                        reconnect_max_s=self._restart_max)
        feed = MqttFeed(broker, [(s.topic, 0)], on_message=self._on_mqtt_message,
                        on_state=lambda up, why: self._set_running(up), counters=self.counters, family="rtl433",
                        max_backlog=MAX_BACKLOG)
        try:
            await feed.run()
        finally:
            self.running = False

    def _on_mqtt_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained:
            return  # an old event replayed by the broker is not something that happened now
        self.handle_line(payload)

    def _set_running(self, up: bool) -> None:
        if up != self.running:
            self.running = up
            self.counters["connected" if up else "disconnected"] += 1
            (log.info if up else log.warning)("rtl433.mqtt_connected" if up else "rtl433.mqtt_disconnected",
                                              broker=f"{self.mqtt_source.host}:{self.mqtt_source.port}"
                                              if self.mqtt_source else "")



def _heard_dict(h: Heard) -> dict[str, Any]:
    return {"model": h.model, "address": h.address, "channel": h.channel, "subtype": h.subtype, "code": h.code,
            "device": h.device}


async def _drain(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """rtl_433 talks a lot on stderr; read it all (a full pipe would stall it) and keep the last lines."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            continue
        if not raw:
            return
        text = raw.decode("utf-8", "replace").strip()
        if text:
            tail.append(text[:200])
