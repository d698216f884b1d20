"""RFLink serial text protocol -> observations. Pure: bytes and stamps in, data out.

RFLink (Nodo RadioFrequencyLink) gateways print one line per received 433 MHz
frame, e.g. ``20;2D;EV1527;ID=0fa2b4;SWITCH=01;CMD=ON;BAT=LOW;``. Parsing of
the field grammar is left to the maintained ``rflink`` package (the one Home
Assistant uses); this module adds what a safety hub needs on top: strict line
framing against hostile bytes, mapping configured radio codes to rooms and
kinds, and folding the bursts of identical frames that one button press makes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from rflink.parser import decode_packet, valid_packet

from detection.events import (
    ButtonAction,
    ButtonPress,
    Contact,
    DeviceStatus,
    Motion,
    Observation,
    PressPattern,
    Stamp,
)

# Real RFLink lines are under 200 characters; anything much longer is noise or a
# stuck serial buffer, and must not grow memory without bound.
MAX_LINE = 512

# A single press of a cheap 433 MHz button is transmitted several times in a
# burst (and RFLink prints each copy); copies closer than this are one event.
REPEAT_WINDOW_S = 1.5

_ON = {"on", "allon"}
_OFF = {"off", "alloff"}


class Problem(StrEnum):
    OVERLONG = "overlong"
    INVALID_UTF8 = "invalid_utf8"
    MALFORMED = "malformed"
    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_COMMAND = "unknown_command"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A configured radio code (protocol + ID + optional SWITCH) and what it is."""

    id: str
    protocol: str
    address: str
    kind: str  # pir, door, sos, bed, seat, toilet_flush, cabinet, fridge, other
    room: str
    switch: str = ""
    # A button's second button: its own SWITCH= value, or "off" for this code's CMD=OFF ("": none).
    second_switch: str = ""
    # Report the frames a held button keeps sending (as repeats), for its long press.
    hold_frames: bool = False


@dataclass(frozen=True, slots=True)
class Heard:
    """A radio code the gateway printed, configured or not (for the installer's learn mode)."""

    protocol: str
    address: str
    switch: str
    command: str
    battery: str | None
    device: str | None


@dataclass(slots=True)
class Decoded:
    observations: list[Observation] = field(default_factory=list)
    heard: Heard | None = None
    problem: Problem | None = None
    info: dict[str, str] | None = None  # banner, PONG, OK...


def _norm(code: str) -> str:
    # RFLink pads some IDs (KaKu gets 0000 in front) and switches ("01" vs "1").
    return code.strip().lower().lstrip("0") or "0"


class DeviceTable:
    """Looks configured devices up by what the radio says."""

    def __init__(self, devices: Iterable[DeviceSpec]) -> None:
        self._exact: dict[tuple[str, str, str], DeviceSpec] = {}
        self._any_switch: dict[tuple[str, str], DeviceSpec] = {}
        for d in devices:
            if d.switch:
                self._exact[(d.protocol.lower(), _norm(d.address), _norm(d.switch))] = d
            else:
                self._any_switch[(d.protocol.lower(), _norm(d.address))] = d
            if d.second_switch and d.second_switch.lower() != "off":
                self._exact[(d.protocol.lower(), _norm(d.address), _norm(d.second_switch))] = d

    def find(self, protocol: str, address: str, switch: str) -> DeviceSpec | None:
        key = (protocol.lower(), _norm(address))
        return self._exact.get((*key, _norm(switch))) or self._any_switch.get(key)


class LineFramer:
    """Splits a serial byte stream into lines; overlong junk is dropped and counted."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buf = bytearray()
        self._max = max_line
        self._discarding = False
        self.overlong = 0

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self._max:
                    if not self._discarding:
                        self.overlong += 1
                    self._discarding = True
                    self._buf.clear()
                return lines
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if self._discarding:
                self._discarding = False  # the tail of an overlong line ends here
                continue
            if len(line) > self._max:
                self.overlong += 1
                continue
            lines.append(line.rstrip(b"\r"))


def decode_line(raw: bytes, at: Stamp, table: DeviceTable) -> Decoded:
    """One RFLink line -> observations of configured devices, or a named problem."""
    try:
        # Only the line ending and blanks: str.strip() would also eat control characters such as
        # \x1c, and a line of noise must be counted as malformed, not ignored as empty.
        text = raw.decode("utf-8").strip(" \t\r\n")
    except UnicodeDecodeError:
        return Decoded(problem=Problem.INVALID_UTF8)
    if not text:
        return Decoded()
    if not text.isprintable() or not valid_packet(text):
        return Decoded(problem=Problem.MALFORMED)
    try:
        packet = decode_packet(text)
    except (ValueError, KeyError, IndexError):
        return Decoded(problem=Problem.MALFORMED)
    if packet.get("node") != "gateway":
        return Decoded(info={"echo": text})  # our own commands echoed back
    if "id" not in packet:
        info = {k: str(v) for k, v in packet.items() if k != "node"}
        return Decoded(info=info)

    protocol = str(packet.get("protocol", ""))
    address = str(packet["id"])
    switch = str(packet.get("switch", ""))
    # PIR sensors of some brands say PIR=ON instead of CMD=ON.
    command = str(packet.get("command") or packet.get("pir") or packet.get("smokealert") or "")
    battery = packet.get("battery")
    spec = table.find(protocol, address, switch)
    heard = Heard(protocol, address, switch, command, str(battery) if battery else None,
                  spec.id if spec else None)
    if spec is None:
        return Decoded(heard=heard, problem=Problem.UNKNOWN_DEVICE)

    out = Decoded(heard=heard)
    obs = _observation(spec, command.lower(), at, switch)
    if obs is not None:
        out.observations.append(obs)
    elif command and command.lower() not in _ON | _OFF:
        out.problem = Problem.UNKNOWN_COMMAND
    if battery in ("low", "ok"):
        out.observations.append(
            DeviceStatus(device=spec.id, at=at, room=spec.room, battery_low=battery == "low")
        )
    return out


def _observation(spec: DeviceSpec, command: str, at: Stamp, switch: str = "") -> Observation | None:
    on = command in _ON
    if not on and command not in _OFF:
        return None
    if spec.kind == "pir":
        return Motion(device=spec.id, at=at, room=spec.room, active=on)
    if spec.kind == "sos" and spec.second_switch:
        second = spec.second_switch.lower()
        if (second == "off" and not on) or (second != "off" and on and _norm(switch) == _norm(second)):
            return ButtonPress(device=spec.id, at=at, room=spec.room, pattern=PressPattern.SECOND)
    if spec.kind == "sos":
        # Panic buttons send ON; an OFF (release, or a paired "disarm" code) is
        # not a call for help and not an error.
        return ButtonPress(device=spec.id, at=at, room=spec.room, action=ButtonAction.HELP) if on else None
    return Contact(device=spec.id, at=at, room=spec.room, kind=spec.kind, active=on)


class RepeatFilter:
    """Folds the burst of identical frames one press produces into one observation.

    Keyed on the device and what it said; a different command (door closed after
    open) always passes. Uses the observation's own monotonic time.
    """

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        self._window = window_s
        self._last: dict[tuple[str, str], float] = {}
        self.folded = 0

    def admit(self, obs: Observation) -> bool:
        key = (obs.device, _signature(obs))
        prev = self._last.get(key)
        self._last[key] = obs.at.t
        if prev is not None and 0 <= obs.at.t - prev < self._window:
            self.folded += 1
            return False
        return True


def _signature(obs: Observation) -> str:
    if isinstance(obs, Motion | Contact):
        return f"{type(obs).__name__}:{obs.active}"
    if isinstance(obs, DeviceStatus):
        return f"status:{obs.battery_low}"
    if isinstance(obs, ButtonPress):
        return f"button:{obs.pattern}"  # a two-button code: each button's burst is folded on its own
    return type(obs).__name__


def encode_frame(seq: int, protocol: str, address: str, switch: str | None, command: str | None,
                 battery: str | None = None) -> bytes:
    """The line an RFLink gateway prints for a frame (used by the emulator and tests)."""
    parts = ["20", f"{seq % 256:02X}", protocol, f"ID={address}"]
    if switch:
        parts.append(f"SWITCH={switch}")
    if command:
        parts.append(f"CMD={command.upper()}")
    if battery:
        parts.append(f"BAT={battery.upper()}")
    return (";".join(parts) + ";\r\n").encode("ascii")
