"""What the home monitor believes right now, in words a technician can explain an alarm with.

The last sign of life (where, when, which sensor), the silence since, and the
limit that silence is held to: the same rails and learned limit that
``HomeMonitor._check_silence`` uses, for the same context and hour, plus the
daytime bound. And the person's usual wake-up and bed times, as learned.
Pure: reads the monitor, changes nothing. It lives beside the monitor (same
package, so it reads the monitor's state directly) rather than in it, which is
at its size limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from detection.events import Stamp
from detection.home.gaps import band_of

if TYPE_CHECKING:
    from detection.home.monitor import HomeMonitor

MIN_LEARNED = 5  # as monitor.MIN_WAKES: fewer wake-ups than this and the default applies


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _clock(minutes: float | None) -> str | None:
    """Minutes after midnight (past 1440: after the next midnight) as HH:MM."""
    if minutes is None:
        return None
    m = round(minutes) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def routine_times(m: HomeMonitor) -> dict[str, Any]:
    """Usual wake-up and bed times (medians), and when a missed wake-up would be raised."""
    wakes = list(m.wake_times)
    beds = [float(b) for h in m.routine.history if (b := h.get("bed_min")) is not None]
    learned = len(wakes) >= MIN_LEARNED
    latest = sorted(wakes)[min(len(wakes) - 1, int(0.9 * len(wakes)))] if learned else 9 * 60.0
    return {"wake_usual": _clock(_median(wakes)), "wakes_learned": len(wakes),
            "bed_usual": _clock(_median(beds)), "beds_learned": len(beds),
            "no_wake_after": _clock(latest + m.s.wake_margin_min), "wake_learned": learned}


def now_view(m: HomeMonitor, at: Stamp) -> dict[str, Any]:
    """The silence so far against its limit, and the routine; ``last`` is None before any sign of life."""
    out: dict[str, Any] = {"routine": routine_times(m), "last": None, "days_learned": m.gaps.days()}
    last = m._last
    if last is None:
        return out
    hour = int((last.local % 86400) // 3600)
    floor, ceiling, default, dwell = m._rails(last.context, hour)
    model = m.still if "#~presence." in last.context else m.gaps  # a radar sees her in the bathroom
    limit = model.limit(last.context, hour, floor, ceiling, default)
    away = m._away_since is not None
    bound = (m.s.away_ceiling_min if away else m.s.inactivity_ceiling_min) * 60
    silence = max(0.0, at.t - last.t)
    out["last"] = {
        "room": last.room, "device": last.device, "kind": last.kind,
        "local": at.local - silence,  # read back from the monotonic silence, as the monitor does
        "silence_s": round(silence, 1), "limit_s": round(limit.seconds, 1), "learned": limit.learned,
        "learned_from": limit.samples, "dwell": dwell, "away": away, "band": band_of(hour),
        "daytime_bound_s": bound, "quiet_now": m.s.is_quiet((at.local % 86400) / 3600.0),
        "raised": m._raised,
    }
    return out
