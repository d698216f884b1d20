"""The vital-signs page: one person's last readings and a 7-day chart drawn on the hub (inline SVG).

No script and no external asset: the chart is an SVG made from the daily
summaries (resting heart rate as a line, hours worn as bars), sized in the
template; the page's Content-Security-Policy allows nothing else.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gateway.web.core import HUB, HubView, render

WIDTH, HEIGHT, PAD = 320.0, 140.0, 24.0


def chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates for the template: resting heart rate points, worn bars, day labels and the y range."""
    step = (WIDTH - 2 * PAD) / max(1, len(days) - 1)
    rates = [d.get("resting_heart_rate_bpm") for d in days]
    known = [r for r in rates if r is not None]
    low = (min(known) // 10) * 10 - 5 if known else 40.0
    high = (max(known) // 10) * 10 + 15 if known else 100.0

    def y(bpm: float) -> float:
        return round(HEIGHT - PAD - (bpm - low) / (high - low) * (HEIGHT - 2 * PAD), 1)

    points = [(round(PAD + i * step, 1), y(r), r) for i, r in enumerate(rates) if r is not None]
    bars = []
    for i, d in enumerate(days):
        hours = max(d.get("worn_h", {}).values(), default=0.0)
        h = round(min(hours, 24.0) / 24.0 * (HEIGHT - 2 * PAD) / 3, 1)
        bars.append((round(PAD + i * step - 4, 1), round(HEIGHT - PAD - h, 1), h, round(hours, 1)))
    return {"width": WIDTH, "height": HEIGHT, "points": points,
            "polyline": " ".join(f"{x},{yy}" for x, yy, _ in points), "bars": bars,
            "labels": [(round(PAD + i * step, 1), d["date"][5:]) for i, d in enumerate(days)],
            "low": low, "high": high, "y_low": y(low), "y_high": y(high)}


async def vitals_page(request: web.Request) -> web.Response:
    hub: HubView = request.app[HUB]
    view = hub.status().get("vitals")
    last = {kind: {"value": r["value"], "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["local"]))}
            for kind, r in (view or {}).get("last", {}).items()}  # ``local`` is local time counted as UTC
    return render(request, "vitals.html", vitals=view, last=last, chart=chart(view["days"]) if view else None)
