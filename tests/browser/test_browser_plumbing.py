"""The live server, Chromium and axe-core work together (the other browser tests rest on this)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_health_is_served_to_chromium(page, live_server):
    reply = page.goto(f"{live_server.url}/health")
    assert reply is not None and reply.status == 200
    assert '"status":"ok"' in page.content().replace(" ", "")


def test_axe_runs_offline(page):
    from axe_playwright_python.sync_playwright import Axe

    page.set_content('<html lang="vi"><head><title>t</title></head><body><main><h1>Xin chào</h1>'
                     '<img src="data:,"></main></body></html>')
    results = Axe().run(page)
    assert "image-alt" in {v["id"] for v in results.response["violations"]}
