"""Fixtures shared by the technician page's unit tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.unit.fake_hub import FakeHub
    from tests.unit.test_web import Page


@contextlib.asynccontextmanager
async def logged_in(tmp_path: Path, **hub_overrides: Any) -> AsyncIterator[Page[FakeHub]]:
    """The page against the fake hub, set up and logged in."""
    from aiohttp.test_utils import TestClient, TestServer

    from gateway.web.app import make_app
    from tests.unit.test_web import Page, make_fake_hub

    hub = make_fake_hub(tmp_path, **hub_overrides)
    async with TestClient(TestServer(make_app(hub), host="127.0.0.1")) as client:
        page = Page(client, hub, tmp_path)
        await page.set_up()
        yield page


@pytest.fixture
async def tech(tmp_path: Path) -> AsyncIterator[Page[FakeHub]]:
    async with logged_in(tmp_path) as page:
        yield page
