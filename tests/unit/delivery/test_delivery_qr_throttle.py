"""QR codes for counters and tickets, and the token bucket that paces sending."""

from __future__ import annotations

import asyncio
import io
import struct
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from delivery.qr import qr_png, qr_svg
from delivery.throttle import TokenBucket

URL = "https://ks.baohiemxahoi.gov.vn/s/Ab3dEf6hJ9kL"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_png_is_a_square_png_with_a_quiet_zone() -> None:
    data = qr_png(URL)
    width, height = png_size(data)
    assert width == height
    # A 45-character URL at error correction M is version 3 (29 modules) or 4 (33), plus 4 modules each side.
    assert width // 10 in (29 + 8, 33 + 8)
    image = Image.open(io.BytesIO(data)).convert("L")
    # The quiet zone is white all round; the finder pattern's corner just inside it is black.
    assert all(image.getpixel((x, y)) == 255 for x in range(40) for y in range(0, width, 7))
    assert image.getpixel((45, 45)) == 0


def test_box_size_scales_the_png() -> None:
    assert png_size(qr_png(URL, box_size=4))[0] * 10 == png_size(qr_png(URL, box_size=10))[0] * 4


def test_the_svg_is_valid_xml_with_a_square_viewbox() -> None:
    svg = qr_svg(URL)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    assert width == height and width in (29 + 8, 33 + 8)
    assert root.find("{http://www.w3.org/2000/svg}path") is not None


def test_longer_urls_make_denser_codes_and_bad_input_is_refused() -> None:
    assert png_size(qr_png(URL + "x" * 100))[0] > png_size(qr_png(URL))[0]
    with pytest.raises(ValueError, match="URL"):
        qr_png("")
    with pytest.raises(ValueError, match="box_size"):
        qr_png(URL, box_size=0)


class FakeClock:
    """Monotonic time that only moves when the bucket sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=100, burst=10, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        await bucket.acquire()
    assert clock.now == 1000.0  # the burst costs no time
    for _ in range(1000):
        await bucket.acquire()
    assert clock.now - 1000.0 == pytest.approx(10.0, rel=1e-6)  # 1,000 more at 100/s: ten seconds


async def test_the_bucket_refills_while_idle_but_never_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=5, burst=2, clock=clock, sleep=clock.sleep)
    await bucket.acquire()
    await bucket.acquire()
    clock.now += 60  # a long pause
    start = clock.now
    for _ in range(12):
        await bucket.acquire()
    # two from the refilled burst, then ten at 5/s
    assert clock.now - start == pytest.approx(2.0)


async def test_concurrent_senders_share_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_second=50, burst=1, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(bucket.acquire() for _ in range(101)))
    assert clock.now - 1000.0 == pytest.approx(2.0)


async def test_the_bucket_on_the_real_clock() -> None:
    bucket = TokenBucket(rate_per_second=200, burst=1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(41):
        await bucket.acquire()
    assert 0.18 <= loop.time() - start < 1.0


def test_bucket_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="rate_per_second"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10, burst=0)
    assert TokenBucket(0.5).burst == 1
    assert TokenBucket(100).burst == 100
