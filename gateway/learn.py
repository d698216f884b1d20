"""Learn mode: what the radios heard lately, one entry per device heard, for the installer to add.

RFLink codes, rtl_433 transmissions and Zigbee2MQTT messages from any device,
configured or not, arrive here. Each device heard is one entry: how often and
when it was heard, and each code it sent (an RFLink ``CMD``, an rtl_433 ``cmd``
or ``state``, a Zigbee ``action``) with its own count, so the page says "heard
4 times: ON and OFF" instead of twelve rows, and can guess what the device is
(``gateway/learn_kinds.py``). Zigbee2MQTT's own device list (``bridge/devices``)
is kept beside them. Everything is bounded: at most ``KEPT`` devices (the one
heard longest ago goes first) and ``CODES_KEPT`` codes each.

No I/O: the drivers call ``add`` on the event loop, the page reads ``since``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from drivers.rflink.codec import Heard as RflinkHeard
    from drivers.rtl433.codec import Heard as Rtl433Heard
    from drivers.zigbee2mqtt.codec import BridgeDevice
    from drivers.zigbee2mqtt.codec import Heard as ZigbeeHeard

log = structlog.get_logger("carehub.learn")

KEPT = 100  # devices; a city flat's rtl_433 hears a few dozen neighbours' weather stations
CODES_KEPT = 16
BRIDGE_KEPT = 500
FOLD_S = 1.5  # cheap senders repeat each frame in a burst: copies this close are one transmission


@dataclass
class Code:
    count: int
    last_wall: float
    last_seq: int


@dataclass
class HeardDevice:
    key: str
    family: str  # rflink, rtl433, zigbee
    ident: dict[str, str]  # what identifies it to its radio (protocol, address, switch; model, id, ...)
    device: str | None  # the configured id, when it is already added
    first_wall: float
    last_wall: float = 0.0
    seq: int = 0  # of the last change
    first_seq: int = 0
    count: int = 0  # transmissions, bursts folded
    codes: dict[str, Code] = field(default_factory=dict)
    meaning: list[str] = field(default_factory=list)  # decoder fields (rtl_433), state fields (Zigbee)
    battery: str | None = None


class HeardCodes:
    """The devices heard lately, numbered so that the page can ask for what changed after it last looked."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._devices: dict[str, HeardDevice] = {}
        self._bridge: list[dict[str, Any]] = []
        self._bridge_seq = 0
        self._seq = 0
        self.failed = 0

    @property
    def seq(self) -> int:
        return self._seq

    def add(self, heard: RflinkHeard | Rtl433Heard | ZigbeeHeard, wall: float) -> None:
        """One transmission or message, from whichever family heard it. Never raises: a driver calls
        this on its way to emitting the same transmission's observations (a help press)."""
        try:
            self._add_heard(heard, wall)
        except Exception:
            self.failed += 1
            if self.failed == 1 or self.failed % 1000 == 0:
                log.exception("learn.add_failed", count=self.failed)

    def _add_heard(self, heard: RflinkHeard | Rtl433Heard | ZigbeeHeard, wall: float) -> None:
        # Told apart by shape, so that this module does not import the optional families' drivers.
        if hasattr(heard, "friendly_name"):
            z: ZigbeeHeard = heard  # type: ignore[assignment]
            self._add("zigbee", {"friendly_name": z.friendly_name}, z.device, z.action, wall, z.fields, None)
        elif hasattr(heard, "model"):
            r: Rtl433Heard = heard  # type: ignore[assignment]
            ident = {"model": r.model, "address": r.address, "channel": r.channel, "subtype": r.subtype}
            self._add("rtl433", ident, r.device, r.code, wall, r.meaning, None)
        else:
            f: RflinkHeard = heard
            ident = {"protocol": f.protocol, "address": f.address, "switch": f.switch}
            self._add("rflink", ident, f.device, f.command.upper(), wall, (), f.battery)

    def set_bridge_devices(self, devices: list[BridgeDevice]) -> None:
        """Zigbee2MQTT's device list: what is paired with its coordinator, heard or not."""
        self._seq += 1
        self._bridge_seq = self._seq
        self._bridge = [{"friendly_name": d.friendly_name, "ieee_address": d.ieee_address, "model": d.model,
                         "vendor": d.vendor, "exposes": list(d.exposes)} for d in devices[:BRIDGE_KEPT]]

    def bridge_devices(self) -> list[dict[str, Any]]:
        return [dict(b, exposes=list(b["exposes"])) for b in self._bridge]

    def since(self, after: int) -> list[dict[str, Any]]:
        """Every device whose entry changed after ``after``, in the order they were first heard; then
        the Zigbee devices paired with Zigbee2MQTT but not heard, when its list came after ``after``."""
        rows = sorted((d for d in self._devices.values() if d.seq > after), key=lambda d: d.first_seq)
        bridge = {b["friendly_name"]: b for b in self._bridge}
        out = [_row(d, bridge.get(d.ident.get("friendly_name", ""))) for d in rows]
        if self._bridge_seq > after:
            heard = {d.ident.get("friendly_name") for d in self._devices.values() if d.family == "zigbee"}
            out += [_bridge_row(b, self._bridge_seq) for b in self._bridge if b["friendly_name"] not in heard]
        return out

    def _add(self, family: str, ident: dict[str, str], device: str | None, code: str, wall: float,
             meaning: tuple[str, ...], battery: str | None) -> None:
        key = family + ":" + ":".join(v.lower() for v in ident.values())
        self._seq += 1
        d = self._devices.get(key)
        if d is None:
            if len(self._devices) >= self._kept:
                oldest = min(self._devices.values(), key=lambda x: x.last_wall)
                del self._devices[oldest.key]
            d = self._devices[key] = HeardDevice(key, family, ident, device, wall, first_seq=self._seq)
        d.device = device  # added (or removed) since it was last heard
        d.seq = self._seq
        c = d.codes.get(code)
        if c is None or abs(wall - c.last_wall) > FOLD_S:
            d.count += 1
        if c is None:
            if len(d.codes) >= CODES_KEPT:
                del d.codes[min(d.codes, key=lambda k: d.codes[k].last_wall)]
            c = d.codes[code] = Code(0, wall, self._seq)
        if c.count == 0 or abs(wall - c.last_wall) > FOLD_S:
            c.count += 1
        c.last_wall, c.last_seq = wall, self._seq
        d.last_wall = wall
        for m in meaning:
            if m not in d.meaning and len(d.meaning) < CODES_KEPT:
                d.meaning.append(m)
        if battery:
            d.battery = battery


def _row(d: HeardDevice, bridge: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "seq": d.seq, "key": d.key, "family": d.family, **d.ident, "device": d.device, "count": d.count,
        "first_wall": d.first_wall, "wall": d.last_wall, "battery": d.battery, "meaning": list(d.meaning),
        "codes": [{"code": k, "count": c.count, "wall": c.last_wall, "seq": c.last_seq}
                  for k, c in d.codes.items()],  # in the order first sent
        "bridge": dict(bridge, exposes=list(bridge["exposes"])) if bridge else None,
    }


def _bridge_row(b: dict[str, Any], seq: int) -> dict[str, Any]:
    return {"seq": seq, "key": "zigbee:" + b["friendly_name"].lower(), "family": "zigbee",
            "friendly_name": b["friendly_name"], "device": None, "count": 0, "first_wall": None, "wall": None,
            "battery": None, "meaning": [], "codes": [], "bridge": dict(b, exposes=list(b["exposes"]))}
