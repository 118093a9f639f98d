"""A server that answers with something that is not a model (a proxy's or a sign-in page)
is named as such, with its host and what to do; never "Expecting value: line 1 column 1"."""

from __future__ import annotations

import pytest

from stemsplit.core.models import store as model_store
from stemsplit.core.models.download import NotAModel, fetch
from tests._model_archives import ServerState, archive_server

PAGE = b"<html><body>Sign in to the guest Wi-Fi</body></html>"


def test_a_web_page_for_the_checksum_list_is_not_a_model(monkeypatch):
    with archive_server(ServerState(files={"/checksum.json": PAGE})) as url:
        monkeypatch.setenv(model_store.BASE_URL_ENV, url)
        with pytest.raises(NotAModel) as info:
            model_store.install("4stems")
    text = str(info.value)
    assert info.value.host == "127.0.0.1"
    assert text.startswith(f"127.0.0.1 answered {url}checksum.json with something that is "
                           "not a model release's checksum list")
    assert "check the address, or try again later" in text
    assert "stemsplit models install 4stems --from FILE" in text
    assert "Expecting value" not in text
    assert not model_store.is_installed("4stems")


def test_a_web_page_instead_of_the_archive_is_not_a_model(tmp_path):
    """A captive portal answers every path 200 with text/html."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Portal(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (stdlib name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/4stems.tar.gz"
        part = tmp_path / "4stems.tar.gz.part"
        with pytest.raises(NotAModel, match="is not a model file .a web page, text/html"):
            fetch(url, part, "HINT")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not part.exists()
