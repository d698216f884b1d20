"""How long silence is normal in this home: learned from its own history.

After every sign of life the home goes quiet for a while. How long depends on
where the person was (a bathroom visit is followed by movement elsewhere within
minutes; an armchair or a bed by hours) and on the time of day. The model keeps
the silences it has seen, by *context* (the room of the last event, or "bed" /
"seat" while those sensors say occupied) and by hour, and sets the limit just
beyond the longest comparable silence: robust to a few odd days, never below a
floor, never above a ceiling.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

KEEP = 6000  # gaps remembered (several weeks of a busy home)
MIN_SAMPLES = 6  # fewer comparable gaps than this: fall back to a broader set
HOUR_WINDOW = 2  # hours either side that count as "the same time of day"
MIN_GAP_S = 60.0  # shorter silences say nothing about long ones
MARGIN = 1.3
SLACK_S = 900.0


@dataclass(frozen=True)
class Limit:
    seconds: float
    samples: int
    learned: bool


class GapModel:
    def __init__(self) -> None:
        self.gaps: deque[tuple[str, int, float]] = deque(maxlen=KEEP)  # (context, hour, seconds)
        self._cache: dict[tuple[str, int, float, float, float], Limit] = {}  # checked every tick

    def record(self, context: str, hour: int, seconds: float) -> None:
        if seconds >= MIN_GAP_S:
            self.gaps.append((context, hour, seconds))
            self._cache.clear()

    def _comparable(self, context: str | None, hour: int | None) -> list[float]:
        out = []
        for c, h, s in self.gaps:
            if context is not None and c != context:
                continue
            if hour is not None and min((h - hour) % 24, (hour - h) % 24) > HOUR_WINDOW:
                continue
            out.append(s)
        return out

    def limit(self, context: str, hour: int, floor_s: float, ceiling_s: float, default_s: float) -> Limit:
        """The silence after which something is wrong, for this context at this hour."""
        key = (context, hour, floor_s, ceiling_s, default_s)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._limit(context, hour, floor_s, ceiling_s, default_s)
        return hit

    def _limit(self, context: str, hour: int, floor_s: float, ceiling_s: float, default_s: float) -> Limit:
        """The limit, computed.

        Two views of "comparable": the same context at any hour, and any context at
        this time of day. A week or two of history underestimates how long the
        longest silences get, so the limit takes the larger view and a generous
        margin beyond the longest silence in it.
        """
        tops, n = [], 0
        for ctx, hr in ((context, hour), (context, None)):
            seen = self._comparable(ctx, hr)
            if len(seen) >= MIN_SAMPLES:
                tops.append(max(seen))
                n = max(n, len(seen))
        if not tops:
            return Limit(min(ceiling_s, max(floor_s, default_s)), 0, False)
        return Limit(min(ceiling_s, max(floor_s, MARGIN * max(tops) + SLACK_S)), n, True)

    def snapshot(self) -> list[list[object]]:
        return [[c, h, round(s, 1)] for c, h, s in self.gaps]

    def restore(self, data: list[list[object]]) -> None:
        self._cache.clear()
        self.gaps.clear()
        for c, h, s in data:
            self.gaps.append((str(c), int(h), float(s)))  # type: ignore[arg-type]
