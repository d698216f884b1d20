"""How long silence is normal in this home: learned from its own history.

After every sign of life the home goes quiet for a while. How long depends on
what the last sign of life was (a flush is followed by a hand basin within a
minute; a seat that says "occupied" by an hour of television) and on the time
of day. Every silence is recorded with its *context* (the sensor and the state
it reported, and whether a bed or seat mat said "occupied") and the six-hour
band of the day it began in.

The limit for a context is chosen from a false-alarm budget, not from the
longest silence ever seen. Only silences longer than ``TAIL_S`` can ever matter
for an alarm, so the model is a peaks-over-threshold one:

* the *rate* at which this context produces silences longer than ``TAIL_S``
  (per day learned), estimated as a proportion of the context's silences and
  shrunk towards the same kind of sensor, the whole home and a population prior
  when there are few of them;
* the *size* of those excesses: exponential, with its mean taken from the
  median excess (median / ln 2: one odd afternoon does not move it), shrunk the
  same way, and refined by the band of the day when that band has its own data.

The limit is the silence this context exceeds once in ``BUDGET_DAYS`` days:
``TAIL_S + mean * ln(rate * BUDGET_DAYS)``. The caller's floor and ceiling stay
the safety rails.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

KEEP = 16000  # silences remembered (two months of a busy home, four of a sparse one)
TAIL_S = 15 * 60.0  # silences shorter than this say nothing about long ones
BUDGET_DAYS = 30.0  # the whole home: a normal silence passes its limit once in this many days
MIN_DAYS = 3  # before this much history the defaults apply
CAP_S = 4 * 3600.0
PRIOR_Q = 0.02  # population prior: share of silences longer than TAIL_S ...
PRIOR_MEAN_S = 30 * 60.0  # ... and the mean of their excess over TAIL_S
Q_WEIGHT = 5.0  # pseudo-silences given to the parent's share
MEAN_WEIGHT = 4.0  # pseudo-excesses given to the parent's mean
BANDS = 4  # night 00-06, morning 06-12, afternoon 12-18, evening 18-24


def band_of(hour: int) -> int:
    return (hour % 24) * BANDS // 24


@dataclass(frozen=True)
class Limit:
    seconds: float
    samples: int  # silences of this context learned
    learned: bool
    long_ones: int = 0  # of which longer than TAIL_S


@dataclass
class _Stats:
    n: int = 0
    excess: list[float] | None = None

    def add(self, seconds: float) -> None:
        self.n += 1
        if seconds > TAIL_S:
            if self.excess is None:
                self.excess = []
            self.excess.append(seconds - TAIL_S)

    def remove(self, seconds: float) -> None:
        self.n -= 1
        if seconds > TAIL_S and self.excess:
            self.excess.remove(seconds - TAIL_S)

    @property
    def k(self) -> int:
        return len(self.excess) if self.excess else 0

    def mean_excess(self) -> float | None:
        """Mean excess over TAIL_S, each excess counted at most up to CAP_S (one odd day moves it little)."""
        if not self.excess:
            return None
        return sum(min(x, CAP_S) for x in self.excess) / len(self.excess)


def _is_context(key: str) -> bool:
    return "#" in key and "@" not in key


def kind_of(context: str) -> str:
    """The parent context shared by every sensor of that kind: '~motion:1|seat'."""
    return context.split("#", 1)[1] if "#" in context else context


def context_key(sensor: str, kind: str, state: int, occupancy: str, room: str) -> str:
    """The context of a silence: 'sensor:state|occupancy/room#~kind:state|occupancy'."""
    suffix = f"{state}{'|' + occupancy if occupancy else ''}"
    return f"{sensor}:{suffix}/{room}#~{kind}:{suffix}"


def room_of(context: str) -> str:
    return context.split("#", 1)[0].rsplit("/", 1)[-1]


class GapModel:
    def __init__(self) -> None:
        self.gaps: deque[tuple[int, str, int, float]] = deque()  # (day number, context, hour, seconds)
        self._stats: dict[str, _Stats] = {}
        self._cache: dict[tuple[str, int, float, float, float], Limit] = {}  # checked every tick
        self._weighted: float | None = None

    # --- learning ---------------------------------------------------------------

    def _keys(self, context: str, hour: int) -> tuple[str, ...]:
        band = band_of(hour)
        return (context, f"{context}@{band}", kind_of(context))

    def record(self, context: str, hour: int, seconds: float, day: int) -> None:
        if seconds < 0:
            return
        if len(self.gaps) >= KEEP:
            _, c, h, s = self.gaps.popleft()
            for key in self._keys(c, h):
                self._stats[key].remove(s)
        self.gaps.append((day, context, hour, seconds))
        for key in self._keys(context, hour):
            self._stats.setdefault(key, _Stats()).add(seconds)
        self._cache.clear()
        self._weighted = None

    def days(self) -> float:
        if not self.gaps:
            return 0.0
        return float(self.gaps[-1][0] - self.gaps[0][0] + 1)

    # --- limits -----------------------------------------------------------------

    def limit(self, context: str, hour: int, floor_s: float, ceiling_s: float, default_s: float) -> Limit:
        """The silence after which something is wrong, for this context at this hour."""
        key = (context, hour, floor_s, ceiling_s, default_s)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._limit(context, hour, floor_s, ceiling_s, default_s)
        return hit

    def _shrunk(self, context: str, band: int | None) -> tuple[float, float, _Stats]:
        """(share of silences that are long, mean excess of the long ones, the context's own stats)."""
        empty = _Stats()
        kind, ctx = self._stats.get(kind_of(context), empty), self._stats.get(context, empty)
        # Share of silences that are long: context <- kind of sensor <- population.
        q = PRIOR_Q
        for s in (kind, ctx):
            q = (s.k + Q_WEIGHT * q) / (s.n + Q_WEIGHT)
        # The size of the long ones, the same way, then the band of the day.
        mean = PRIOR_MEAN_S
        levels = [kind, ctx] + ([self._stats.get(f"{context}@{band}", empty)] if band is not None else [])
        for s in levels:
            m = s.mean_excess()
            if m is not None:
                mean = (s.k * m + MEAN_WEIGHT * mean) / (s.k + MEAN_WEIGHT)
        return q, mean, ctx

    def _home_mean(self) -> float:
        """The mean excess of the context a collapse would most likely follow (weighted by silences)."""
        if self._weighted is None:
            total = sum(s.n for key, s in self._stats.items() if _is_context(key))
            acc = 0.0
            for key, s in self._stats.items():
                if _is_context(key) and s.n:
                    acc += s.n * self._shrunk(key, None)[1]
            self._weighted = acc / total if total else PRIOR_MEAN_S
        return self._weighted

    def raw(self, context: str, hour: int) -> tuple[float, int, int] | None:
        """The budgeted limit before any floor or ceiling, with the silences behind it; None while learning.

        The home's budget (one false alarm in BUDGET_DAYS) is shared between contexts so that the
        expected delay to find a collapse is least: a context where collapses are likely (many
        silences) and long silences are rare gets a short limit, an armchair a long one. With an
        exponential tail of mean m_c above TAIL_S, that optimum is
        L_c = TAIL_S + m_c * ln(q_c * R * M * BUDGET_DAYS / m_c), R silences per day in the home,
        q_c the share of this context's silences that are long, M the silence-weighted mean excess.
        """
        days = self.days()
        if days < MIN_DAYS:
            return None
        q, mean, ctx = self._shrunk(context, band_of(hour))
        per_day = len(self.gaps) / days
        x = q * per_day * self._home_mean() * BUDGET_DAYS / mean
        seconds = TAIL_S + mean * math.log(x) if x > 1.0 else TAIL_S
        return seconds, ctx.n, ctx.k

    def _limit(self, context: str, hour: int, floor_s: float, ceiling_s: float, default_s: float) -> Limit:
        raw = self.raw(context, hour)
        if raw is None:
            return Limit(min(ceiling_s, max(floor_s, default_s)), 0, False)
        seconds, n, k = raw
        return Limit(min(ceiling_s, max(floor_s, seconds)), n, True, k)

    def summary(self) -> list[dict[str, object]]:
        """Per context: silences and long silences learned (for health and the page)."""
        out = []
        for key, s in sorted(self._stats.items()):
            if not _is_context(key):
                continue
            out.append({"context": key.split("#", 1)[0], "silences": s.n, "long_silences": s.k})
        return out

    # --- persistence --------------------------------------------------------------

    def snapshot(self) -> list[list[object]]:
        return [[d, c, h, round(s, 1)] for d, c, h, s in self.gaps]

    def restore(self, data: list[list[object]]) -> None:
        self._cache.clear()
        self.gaps.clear()
        self._stats.clear()
        for row in data[-KEEP:]:
            d, c, h, s = row
            self.record(str(c), int(h), float(s), int(d))  # type: ignore[arg-type]
