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
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion

from detection.events import Observation, Stamp
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
                 restart_max_s: float = 60.0) -> None:
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
        self._logged_at: dict[str, float] = {}
        self._backlog = 0
        self._loop: asyncio.AbstractEventLoop | None = None

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
        try:
            decoded = self.codec.decode(raw, self._clock())
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
                        await asyncio.wait_for(proc.wait(), 5)
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
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv311)
        client.reconnect_delay_set(min_delay=max(1, round(self._restart_min)),
                                   max_delay=max(1, round(self._restart_max)))
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls:
            try:
                client.tls_set(ca_certs=s.ca_file or None, cert_reqs=ssl.CERT_REQUIRED,
                               tls_version=ssl.PROTOCOL_TLS_CLIENT)
            except (OSError, ssl.SSLError, ValueError) as exc:
                # A CA file that cannot be read will not fix itself: say so once and wait for new settings.
                self.counters["settings_error"] += 1
                log.error("rtl433.settings_error", error=f"TLS files (rtl433.ca_file): {exc}")
                await asyncio.Event().wait()
                return

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            if not reason.is_failure:
                c.subscribe(s.topic, qos=0)
            self._call(self._set_running, not reason.is_failure)

        def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            self._call(self._set_running, False)

        def on_message(c: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            if msg.retain:
                return  # an old event replayed by the broker is not something that happened now
            if self._backlog >= MAX_BACKLOG:  # approximate across threads: a bound on memory
                self.counters["dropped_backlog"] += 1
                return
            self._backlog += 1
            self._call(self._on_mqtt_line, bytes(msg.payload))

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        client.connect_async(s.host, s.port, keepalive=30)
        client.loop_start()
        try:
            await asyncio.Event().wait()
        finally:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
            self.running = False

    def _on_mqtt_line(self, raw: bytes) -> None:
        self._backlog -= 1
        self.handle_line(raw)

    def _set_running(self, up: bool) -> None:
        if up != self.running:
            self.running = up
            self.counters["connected" if up else "disconnected"] += 1
            (log.info if up else log.warning)("rtl433.mqtt_connected" if up else "rtl433.mqtt_disconnected",
                                              broker=f"{self.mqtt_source.host}:{self.mqtt_source.port}"
                                              if self.mqtt_source else "")

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn, *args)


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
