"""The load generator, run in a process of its own: ``python -m bench.load SPEC.json RESULT.json``.

The spec names the server, the requests and the bounds; the generator keeps ``concurrency`` keep-alive
connections busy until it has sent ``max_requests`` or ``seconds`` have passed (whichever is first), then
writes the status and latency of every request. With ``duplicate_share`` > 0 it re-sends, that often, a
request whose key (a survey token) was already sent, to check the single-use rule under load.

Two clients: ``raw`` (asyncio streams speaking HTTP/1.1 with keep-alive; the default because it reaches the
higher hello-world rate here) and ``httpx`` (``httpx.AsyncClient`` with a limit of ``concurrency`` connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoadSpec", "run_load"]

REQUEST_TIMEOUT_S = 30.0


@dataclass
class LoadSpec:
    """What to send: ``requests`` is a list of ``{"method", "path", "body", "key", "headers"}`` (body: JSON text)."""

    host: str
    port: int
    requests: list[dict[str, Any]]
    concurrency: int = 32
    max_requests: int = 20_000
    seconds: float = 10.0
    duplicate_share: float = 0.0
    client: str = "raw"
    warmup: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 2026


class _Plan:
    """Hands out the next request: a fresh one, or now and then a duplicate of a key already sent."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.fresh = 0
        self.issued = 0
        self.sent: list[int] = []
        self.random = random.Random(spec.seed)
        self.deadline = float("inf")

    def next(self) -> tuple[int, bool] | None:
        spec = self.spec
        if self.issued >= spec.max_requests or time.perf_counter() >= self.deadline:
            return None
        if self.sent and self.random.random() < spec.duplicate_share:
            index, duplicate = self.random.choice(self.sent), True
        elif self.fresh < len(spec.requests):
            index, duplicate = self.fresh, False
            self.fresh += 1
            self.sent.append(index)
        else:
            return None
        self.issued += 1
        return index, duplicate


def _encode(spec: LoadSpec, request: dict[str, Any]) -> bytes:
    body = request.get("body")
    payload = body.encode() if isinstance(body, str) else b""
    lines = [
        f"{request.get('method', 'GET')} {request['path']} HTTP/1.1",
        f"Host: {spec.host}:{spec.port}",
        "Accept: application/json",
        "User-Agent: survey-bench",
    ]
    lines += [f"{name}: {value}" for name, value in (request.get("headers") or {}).items()]
    if payload:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class _RawConnection:
    """One keep-alive HTTP/1.1 connection over asyncio streams."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status


async def _run_raw(spec: LoadSpec, plan: _Plan, gate: _StartGate, encoded: list[bytes], records: list[list[Any]],
                   warmup: list[bytes]) -> None:
    async def worker(number: int) -> None:
        connection = _RawConnection(spec.host, spec.port)
        try:
            for raw in warmup[number :: spec.concurrency]:
                await connection.send(raw)
            await gate.ready()
            while (item := plan.next()) is not None:
                index, duplicate = item
                begin = time.perf_counter()
                try:
                    async with asyncio.timeout(REQUEST_TIMEOUT_S):
                        status = await connection.send(encoded[index])
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    status = 0
                    await connection.close()
                records.append([index, duplicate, status, time.perf_counter() - begin, time.perf_counter()])
        finally:
            await connection.close()

    await asyncio.gather(*(worker(n) for n in range(spec.concurrency)))


class _StartGate:
    """Starts the clock once every worker has sent its share of the warm-up requests."""

    def __init__(self, spec: LoadSpec, plan: _Plan) -> None:
        self.spec, self.plan = spec, plan
        self.waiting = 0
        self.begin = 0.0
        self.event = asyncio.Event()

    async def ready(self) -> None:
        self.waiting += 1
        if self.waiting == self.spec.concurrency:
            self.begin = time.perf_counter()
            self.plan.deadline = self.begin + self.spec.seconds
            self.event.set()
        await self.event.wait()


async def _run_httpx(spec: LoadSpec, plan: _Plan, gate: _StartGate, records: list[list[Any]],
                     warmup: list[dict[str, Any]]) -> None:
    import httpx

    limits = httpx.Limits(max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=f"http://{spec.host}:{spec.port}", limits=limits, headers=headers,
                                 timeout=REQUEST_TIMEOUT_S) as client:
        async def one(request: dict[str, Any]) -> int:
            body = request.get("body")
            response = await client.request(request.get("method", "GET"), request["path"],
                                            content=body.encode() if isinstance(body, str) else None,
                                            headers=request.get("headers"))
            return response.status_code

        async def worker(number: int) -> None:
            for request in warmup[number :: spec.concurrency]:
                await one(request)
            await gate.ready()
            while (item := plan.next()) is not None:
                index, duplicate = item
                begin = time.perf_counter()
                try:
                    status = await one(spec.requests[index])
                except httpx.HTTPError:
                    status = 0
                records.append([index, duplicate, status, time.perf_counter() - begin, time.perf_counter()])

        await asyncio.gather(*(worker(n) for n in range(spec.concurrency)))


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values) - 1, max(0, int(round(share * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


async def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Send the load described by ``spec``; return the figures and every request's key and status."""
    plan = _Plan(spec)
    gate = _StartGate(spec, plan)
    records: list[list[Any]] = []
    if spec.client == "httpx":
        await _run_httpx(spec, plan, gate, records, spec.warmup)
    else:
        encoded = [_encode(spec, r) for r in spec.requests]
        await _run_raw(spec, plan, gate, encoded, records, [_encode(spec, r) for r in spec.warmup])
    end = max((r[4] for r in records), default=gate.begin)
    elapsed = max(end - gate.begin, 1e-9)
    latencies = sorted(r[3] for r in records if r[2] and r[2] < 500)
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    return {
        "client": spec.client,
        "concurrency": spec.concurrency,
        "requests": len(records),
        "elapsed_s": elapsed,
        "rate": len(records) / elapsed,
        "ok_rate": statuses.get("200", 0) / elapsed,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "statuses": statuses,
        "records": [[r[0], r[1], r[2]] for r in records],
    }


def main(argv: list[str]) -> None:
    spec_path, result_path = Path(argv[0]), Path(argv[1])
    spec = LoadSpec(**json.loads(spec_path.read_text()))
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run_load(spec))
    result_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
