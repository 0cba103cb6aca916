"""Rendering a PDF loads only the project's own files: never the network, never another file on the machine."""

from __future__ import annotations

import http.server
import threading

from survey.services.pdf import TEMPLATES_DIR, printable, project_fetcher


def test_the_network_and_files_outside_the_project_are_refused_while_the_project_s_own_load():
    from weasyprint import HTML

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        html = (f'<link rel="stylesheet" href="{url}/style.css"><img src="{url}/logo.png">'
                '<img src="file:///etc/hostname"><p>Xin chào</p>')
        pdf = HTML(string=html, base_url=str(TEMPLATES_DIR) + "/", url_fetcher=project_fetcher()).write_pdf()
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF")
    assert hits == []
    fetcher = project_fetcher()
    for refused in (f"{url}/logo.png", "file:///etc/hostname", "ftp://127.0.0.1/x"):
        try:
            fetcher.fetch(refused)
        except ValueError:
            continue
        raise AssertionError(f"{refused} was fetched")
    response = fetcher.fetch((TEMPLATES_DIR / "print" / "report.html").as_uri())
    assert b"<!doctype html>" in response.read()
    response.close()


def test_printable_text_keeps_every_vietnamese_letter_and_drops_direction_overrides():
    assert printable("Đặng Thị Hồng Nhung ưng ý ở Quảng Bình") == "Đặng Thị Hồng Nhung ưng ý ở Quảng Bình"
    assert printable("abc\u202edef\u2066x\u2069") == "abcdefx"
    assert printable("שלום مرحبا") == "שלום مرحبا"  # Hebrew and Arabic have their fonts
    assert printable("Tốt \U0001F600") == "Tốt \ufffd"  # no report font has the emoji
