"""The technician's page as one of the hub's components (gateway/supervisor.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.daemon import Hub


class WebComponent:
    """Serves the page from the hub's own loop; a change of ``web`` takes a process restart."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def run(self) -> None:
        from gateway.web.server import serve  # aiohttp only when the page is on

        await serve(self._hub)

    def status(self) -> dict[str, Any]:
        counters = self._hub.web_counters
        return dict(counters()) if counters is not None else {}
