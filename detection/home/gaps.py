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
from typing import Any

KEEP = 16000  # silences remembered (two months of a busy home, four of a sparse one)
TAIL_S = 15 * 60.0  # silences shorter than this say nothing about long ones
BUDGET_DAYS = 30.0  # the whole home: a normal silence passes its limit once in this many days
MIN_DAYS = 3  # before this much history the defaults apply
CAP_S = 4 * 3600.0
PRIOR_Q = 0.02  # population prior: share of silences longer than TAIL_S ...
PRIOR_MEAN_S = 20 * 60.0  # ... and the mean of their excess over TAIL_S
Q_WEIGHT = 5.0  # pseudo-silences given to the parent's share
MEAN_WEIGHT = 4.0  # pseudo-excesses given to the parent's mean
SHAPE_MIN, SHAPE_MAX = -0.5, 0.5
SHAPE_WEIGHT = 30.0  # long silences needed before their shape counts half
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

    def shape(self) -> float:
        """The tail's shape (generalised Pareto, by moments), shrunk to 0 (exponential) when few.

        Below 0 the silences have a natural end (sitting still, a PIR that fires every half hour
        or so); above 0 the longest grow without end (an armchair, a home with blind rooms).
        """
        k = self.k
        if k < 3 or not self.excess:
            return 0.0
        xs = [min(x, CAP_S) for x in self.excess]
        m = sum(xs) / k
        v = sum((x - m) ** 2 for x in xs) / (k - 1)
        if v <= 0:
            return SHAPE_MIN
        xi = 0.5 * (1.0 - m * m / v)
        return max(SHAPE_MIN, min(SHAPE_MAX, xi)) * k / (k + SHAPE_WEIGHT)


def _is_context(key: str) -> bool:
    return "#" in key and "@" not in key and ">/" not in key


def kind_of(context: str) -> str:
    """The parent context shared by every sensor of that kind: '~motion:1|seat'."""
    return context.split("#", 1)[1] if "#" in context else context


def context_key(sensor: str, kind: str, state: int | str, occupancy: str, room: str, arrived: bool = False) -> str:
    """The context of a silence: 'sensor:state|occupancy[>]/room#~kind:state|occupancy'.

    ``>`` marks a sensor heard just after the person came from another room (a door closed on the
    way in, the first movement in a room), as against one heard while already there (the same door
    closed on the way out after the cupboards): the silences after them differ.
    """
    suffix = f"{state}{'|' + occupancy if occupancy else ''}"
    return f"{sensor}:{suffix}{'>' if arrived else ''}/{room}#~{kind}:{suffix}"


def base_of(context: str) -> str:
    """The context without the arrival mark: its parent."""
    return context.replace(">/", "/", 1)


def room_of(context: str) -> str:
    return context.split("#", 1)[0].rsplit("/", 1)[-1]


class GapModel:
    def __init__(self) -> None:
        self.gaps: deque[tuple[int, str, int, float]] = deque()  # (day number, context, hour, seconds)
        self._stats: dict[str, _Stats] = {}
        self._cache: dict[tuple[str, int, float, float, float], Limit] = {}  # checked every tick
        self._weighted: float | None = None
        self._days: dict[int, int] = {}  # day number -> silences of that day remembered

    # --- learning ---------------------------------------------------------------

    def _keys(self, context: str, hour: int) -> tuple[str, ...]:
        band = band_of(hour)
        base = base_of(context)
        keys = (context, f"{context}@{band}", kind_of(context))
        return keys if base == context else (*keys, base)

    def record(self, context: str, hour: int, seconds: float, day: int) -> None:
        if seconds < 0:
            return
        if len(self.gaps) >= KEEP:
            d, c, h, s = self.gaps.popleft()
            for key in self._keys(c, h):
                self._stats[key].remove(s)
            self._days[d] -= 1
            if not self._days[d]:
                del self._days[d]
        self.gaps.append((day, context, hour, seconds))
        self._days[day] = self._days.get(day, 0) + 1
        for key in self._keys(context, hour):
            self._stats.setdefault(key, _Stats()).add(seconds)
        self._cache.clear()
        self._weighted = None

    def days(self) -> float:
        """Days with silences learned (counted, not spanned: a clock set back at boot cannot shrink them)."""
        return float(len(self._days))

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
        base = self._stats.get(base_of(context), empty) if base_of(context) != context else None
        chain = [kind] + ([base] if base is not None else []) + [ctx]
        if band is not None:
            chain.append(self._stats.get(f"{context}@{band}", empty))
        # Share of silences that are long, and the size of the long ones: the band of the day <- the
        # context <- the sensor and state <- the kind of sensor <- the population.
        q = PRIOR_Q
        for s in chain:
            q = (s.k + Q_WEIGHT * q) / (s.n + Q_WEIGHT)
        mean = PRIOR_MEAN_S
        for s in chain:
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
        if x <= 1.0:
            return TAIL_S, ctx.n, ctx.k
        xi = ctx.shape() if ctx.k >= SHAPE_WEIGHT or base_of(context) == context else \
            self._stats.get(base_of(context), ctx).shape()
        if abs(xi) < 1e-3:
            return TAIL_S + mean * math.log(x), ctx.n, ctx.k
        # Generalised Pareto with this mean: scale = mean * (1 - xi); exceeded by 1 in x long silences.
        return TAIL_S + mean * (1.0 - xi) / xi * (x ** xi - 1.0), ctx.n, ctx.k

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

    def snapshot(self) -> dict[str, list[Any]]:
        """The silences, each context written once (a hub saves this every hour to an SD card)."""
        names: dict[str, int] = {}
        rows = [[d, names.setdefault(c, len(names)), h, round(s, 1)] for d, c, h, s in self.gaps]
        return {"contexts": list(names), "silences": rows}

    def restore(self, data: dict[str, list[Any]]) -> None:
        """Silences saved by ``snapshot``; anything malformed raises, leaving the model empty."""
        self._cache.clear()
        self._weighted = None
        self.gaps.clear()
        self._stats.clear()
        self._days.clear()
        try:
            names = [str(c) for c in data["contexts"]]
            for d, c, h, s in data["silences"][-KEEP:]:
                self.record(names[int(c)], int(h), float(s), int(d))
        except (KeyError, IndexError, TypeError, ValueError):
            self.restore({"contexts": [], "silences": []})
            raise
