"""Config section of the mains sensor (docs/fleet.md, "Power"): where the hub reads whether mains is present."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.config.fields import opt


@dataclass(frozen=True)
class PowerConfig:
    enabled: bool = opt(False, help="Report mains lost and back to the platform (a UPS HAT or a mains sensor)")
    source: Literal["power_supply", "gpio_file"] = opt(
        "power_supply", help="power_supply: the kernel's /sys/class/power_supply (Mains/USB 'online', or a UPS "
        "battery's 'status'); gpio_file: a GPIO input's value file (e.g. /sys/class/gpio/gpio17/value)",
    )
    power_supply_dir: str = opt("/sys/class/power_supply", help="Where the kernel lists power supplies")
    gpio_file: str = opt("", help="The GPIO value file to poll (source gpio_file)")
    gpio_mains_value: int = opt(1, help="The value the GPIO file reads while mains is present", min=0, max=1)
    poll_s: float = opt(2.0, help="How often the source is read", min=0.2, max=60, unit="s")
    lost_after_s: float = opt(
        5.0, help="Mains absent this long is an incident (shorter dips are ignored)", min=0, max=600, unit="s",
    )
    restored_after_s: float = opt(
        60.0, help="Mains present this long ends the incident (a flicker back and off again stays one incident)",
        min=0, max=3600, unit="s",
    )
