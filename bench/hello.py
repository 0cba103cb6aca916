"""The baseline: a bare Litestar app with the same request shapes as a survey submission.

``GET /`` answers "hello"; ``POST /`` reads a JSON (or form) body, as the survey's JSON submission does,
and answers ``{"status": "complete"}``. Served by the same uvicorn settings as the survey app.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get, post

__all__ = ["app"]


@get("/", media_type="text/plain")
async def hello() -> str:
    return "hello"


@post("/", status_code=200)
async def submit(request: Request[Any, Any, Any]) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
    else:
        body = dict(await request.form())
    return {"status": "complete", "answers": len(body.get("answers") or {})}


app = Litestar(route_handlers=[hello, submit])
