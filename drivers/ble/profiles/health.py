"""Home measuring devices and health watches speaking the Bluetooth SIG health services.

One decoder per device, made with the services it offers (``heart_rate``,
``pulse_oximeter``, ``thermometer``, ``blood_pressure``, ``weight_scale``;
battery always). Indicated characteristics (spot-check SpO2, temperature,
blood pressure, weight) are confirmed by BlueZ itself when the hub subscribes
through ``start_notify``: the confirmation the specifications require is the
ATT Handle Value Confirmation, which the host stack sends, not the application.

A cuff or a scale keeps measurements taken while the hub was out of reach and
sends them on the next connection, each with its own time stamp. Such a
measurement is stamped with its own time (``at`` moved back by the difference)
when that time is plausible; a time before 2020 or ahead of the hub's synced
clock means the device's clock was never set or has drifted, and the
measurement is kept at its arrival time with ``clock_suspect`` set.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from detection.events import Observation, Stamp, VitalSign
from drivers.ble.profiles import health_codecs as hc
from drivers.ble.profiles.ieee11073 import MalformedMeasurement, Special
from drivers.ble.profiles.sig import BATTERY_LEVEL, HEART_RATE_MEASUREMENT, battery, heart_rate_observations

EARLIEST_PLAUSIBLE = float(calendar.timegm((2020, 1, 1, 0, 0, 0)))
AHEAD_TOLERANCE_S = 300.0  # device clocks are set by hand or by a phone: minutes off is normal

# Profiles of home measuring devices: they connect to send a measurement, then go away.
METER_PROFILES = ("pulse_oximeter", "thermometer", "blood_pressure", "weight_scale")
SERVICES: dict[str, tuple[str, ...]] = {
    "heart_rate": (HEART_RATE_MEASUREMENT,),
    "pulse_oximeter": (hc.PLX_SPOT_CHECK, hc.PLX_CONTINUOUS),
    "thermometer": (hc.TEMPERATURE_MEASUREMENT,),
    "blood_pressure": (hc.BLOOD_PRESSURE_MEASUREMENT,),
    "weight_scale": (hc.WEIGHT_MEASUREMENT,),
}


def measured_at(device_time: float | None, at: Stamp) -> tuple[Stamp, bool]:
    """(the stamp to give a measurement, whether its device clock looks wrong)."""
    if device_time is None:
        return at, False
    if device_time < EARLIEST_PLAUSIBLE or (at.synced and device_time > at.local + AHEAD_TOLERANCE_S):
        return at, True
    if not at.synced:
        return at, False  # the hub's own wall clock is not known yet: nothing to move back against
    back = max(0.0, at.local - device_time)
    return Stamp(at.t - back, at.local - back, at.synced), False


class HealthDecoder:
    def __init__(self, device: str, services: Iterable[str]) -> None:
        self.device = device
        self.services = tuple(services)
        unknown = set(self.services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown health services {sorted(unknown)}")
        self.counters: Counter[str] = Counter()
        self._worn: bool | None = None
        self._codecs: dict[str, Callable[[bytes, Stamp], list[Observation]]] = {
            HEART_RATE_MEASUREMENT: self._heart_rate, hc.PLX_SPOT_CHECK: self._spot_check,
            hc.PLX_CONTINUOUS: self._continuous, hc.TEMPERATURE_MEASUREMENT: self._temperature,
            hc.BLOOD_PRESSURE_MEASUREMENT: self._blood_pressure, hc.WEIGHT_MEASUREMENT: self._weight,
        }

    def notify_uuids(self) -> tuple[str, ...]:
        return (*(u for s in self.services for u in SERVICES[s]), BATTERY_LEVEL)

    def decode(self, char_uuid: str, data: bytes, at: Stamp) -> list[Observation]:
        try:
            if char_uuid == BATTERY_LEVEL:
                return [battery(self.device, data, at)]
            codec = self._codecs.get(char_uuid)
            if codec is None:
                self.counters["unknown_characteristic"] += 1
                return []
            return codec(data, at)
        except ValueError as exc:  # MalformedMeasurement and the battery's own check
            self.counters["malformed"] += 1
            if isinstance(exc, MalformedMeasurement):
                self.counters[f"malformed.{str(exc).split(':')[0]}"] += 1
            return []

    def _count_specials(self, specials: tuple[Special, ...]) -> None:
        for s in specials:
            self.counters[f"special.{s.value}"] += 1

    def _vital(self, at: Stamp, device_time: float | None, clock_not_set: bool = False,
               **fields: Any) -> list[Observation]:
        stamp, suspect = (at, True) if clock_not_set else measured_at(device_time, at)
        if suspect:
            self.counters["clock_suspect"] += 1
        elif stamp is not at:
            self.counters["stored_measurements"] += 1
        return [VitalSign(device=self.device, at=stamp, device_time=device_time, clock_suspect=suspect, **fields)]

    def _heart_rate(self, data: bytes, at: Stamp) -> list[Observation]:
        out, self._worn = heart_rate_observations(self.device, data, at, self._worn)
        return out

    def _spot_check(self, data: bytes, at: Stamp) -> list[Observation]:
        return self._oximetry(hc.plx_spot_check(data), at)

    def _continuous(self, data: bytes, at: Stamp) -> list[Observation]:
        return self._oximetry(hc.plx_continuous(data), at)

    def _oximetry(self, m: hc.PulseOximetry, at: Stamp) -> list[Observation]:
        self._count_specials(m.specials)
        if m.spo2_pct is None and m.pulse_rate_bpm is None:
            return []
        # The oximeter's own "sensor unconnected / displaced" is the only contact report it has.
        contact = False if hc.PLX_NOT_ON_BODY & set(m.status) else None
        return self._vital(at, m.device_time, m.clock_not_set and m.device_time is not None,
                           spo2_pct=m.spo2_pct, pulse_rate_bpm=m.pulse_rate_bpm, skin_contact=contact,
                           quality=m.status)

    def _temperature(self, data: bytes, at: Stamp) -> list[Observation]:
        m = hc.temperature(data)
        self._count_specials(m.specials)
        if m.celsius is None:
            return []
        return self._vital(at, m.device_time, body_temp_c=m.celsius, temp_site=m.site)

    def _blood_pressure(self, data: bytes, at: Stamp) -> list[Observation]:
        m = hc.blood_pressure(data)
        self._count_specials(m.specials)
        if m.systolic_mmhg is None and m.diastolic_mmhg is None:
            return []
        return self._vital(at, m.device_time, systolic_mmhg=m.systolic_mmhg, diastolic_mmhg=m.diastolic_mmhg,
                           mean_arterial_mmhg=m.mean_arterial_mmhg, pulse_rate_bpm=m.pulse_rate_bpm,
                           user_id=m.user_id, quality=m.status)

    def _weight(self, data: bytes, at: Stamp) -> list[Observation]:
        m = hc.weight(data)
        if m.kg is None:
            self.counters["weight_unsuccessful"] += 1
            return []
        return self._vital(at, m.device_time, weight_kg=m.kg, bmi=m.bmi, height_m=m.height_m, user_id=m.user_id)

