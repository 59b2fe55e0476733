"""Fetching books: loopback HTTP (404, 5xx retries, timeout, size cap, truncation, http opt-in) and local sources."""
from __future__ import annotations

import http.server
import io
import threading

import pytest

from charlm.data.fetch import _CheckedRedirects, _Refused, book_location, fetch_book, fetch_books, read_capped
from charlm.errors import CharlmError
from charlm.params import Book, DataParams
from helpers import TINY_BOOKS, LoopbackServer, Route


def data_params(source: str, ids=(101,), allow_http=True, max_bytes=1_000_000, timeout_s=2.0, retries=2):
    books = tuple(Book(id=i, title=f"Book {i}", author="Test") for i in ids)
    return DataParams(source=source, allow_http=allow_http, max_bytes=max_bytes, timeout_s=timeout_s, retries=retries,
                      verify="warn", books=books)


@pytest.fixture(scope="module")
def shared_server():
    srv = LoopbackServer().start()  # one per module: stopping a server takes half a second
    yield srv
    srv.stop()


@pytest.fixture
def server(shared_server):
    shared_server.routes, shared_server.requests = {}, []
    return shared_server


def fetch_error(source_or_params, book_id=101, **kw) -> str:
    params = source_or_params if isinstance(source_or_params, DataParams) else data_params(source_or_params, **kw)
    with pytest.raises(CharlmError) as err:
        fetch_book(book_id, params, backoff_s=0.01)
    assert "\n" not in str(err.value)
    return str(err.value)


# ------------------------------------------------------------------------------------------- http
def test_downloads_every_book_byte_for_byte(tmp_path, server):
    server.routes = {f"/{i}.txt": Route(body) for i, body in TINY_BOOKS.items()}
    params = data_params(f"{server.url}/{{id}}.txt", ids=tuple(TINY_BOOKS))
    sizes = fetch_books(params, tmp_path / "raw", backoff_s=0.01)
    assert sizes == {i: len(b) for i, b in TINY_BOOKS.items()}
    for book_id, body in TINY_BOOKS.items():
        assert (tmp_path / "raw" / f"{book_id}.txt").read_bytes() == body
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [f"{i}.txt" for i in sorted(TINY_BOOKS)]


def test_404_is_not_retried_and_names_id_and_url(server):
    message = fetch_error(f"{server.url}/{{id}}.txt")
    assert message == f"book 101: cannot fetch {server.url}/101.txt: HTTP 404 Not Found"
    assert server.requests == ["/101.txt"]


def test_server_errors_are_retried_then_reported(server):
    server.routes["/101.txt"] = Route(b"busy", status=503)
    message = fetch_error(f"{server.url}/{{id}}.txt", retries=2)
    assert "HTTP 503" in message and "gave up after 3 attempts" in message
    assert server.requests == ["/101.txt"] * 3


class FlakyRoutes(dict):
    """Routes that answer 503 to the first `failures` requests, then the real book."""

    def __init__(self, failures: int, body: bytes):
        super().__init__()
        self.failures, self.body = failures, body

    def get(self, path, default=None):
        self.failures -= 1
        return Route(b"busy", status=503) if self.failures >= 0 else Route(self.body)


def test_a_retry_recovers_from_a_transient_failure(server):
    server.routes = FlakyRoutes(2, TINY_BOOKS[101])
    assert fetch_book(101, data_params(f"{server.url}/{{id}}.txt", retries=2), backoff_s=0.01) == TINY_BOOKS[101]
    assert len(server.requests) == 3


def test_a_slow_server_times_out(server):
    server.routes["/101.txt"] = Route(TINY_BOOKS[101], delay_s=1.5)
    message = fetch_error(f"{server.url}/{{id}}.txt", timeout_s=0.2, retries=1)
    assert "timed out" in message and "gave up after 2 attempts" in message


def test_an_oversized_response_is_refused_without_retrying(server):
    server.routes["/101.txt"] = Route(b"x" * 2000)
    message = fetch_error(f"{server.url}/{{id}}.txt", max_bytes=1000)
    assert "2000 bytes, more than data.max_bytes (1000)" in message
    assert len(server.requests) == 1


def test_a_truncated_response_is_retried_and_reported(server):
    server.routes["/101.txt"] = Route(b"short body", content_length=500)
    message = fetch_error(f"{server.url}/{{id}}.txt", retries=1)
    assert "truncated response: got 10 of 500 bytes" in message
    assert len(server.requests) == 2


def test_plain_http_needs_the_opt_in(tmp_path, server):
    server.routes["/101.txt"] = Route(TINY_BOOKS[101])
    params = data_params(f"{server.url}/{{id}}.txt", allow_http=False)
    with pytest.raises(CharlmError, match="data.source: plain http:// is refused"):
        fetch_books(params, tmp_path / "raw")
    assert server.requests == [] and not (tmp_path / "raw").exists()


@pytest.mark.parametrize("source, message", [
    ("ftp://example.org/{id}.txt", "unsupported URL scheme 'ftp'"),
    ("file:///etc/{id}", "unsupported URL scheme 'file'"),
    ("https://example.org/book.txt", "a URL must contain {id}"),
])
def test_bad_url_sources(tmp_path, source, message):
    with pytest.raises(CharlmError, match=message):
        fetch_books(data_params(source), tmp_path / "raw")


def test_a_redirect_may_not_downgrade_to_http():
    with pytest.raises(_Refused, match="plain http:// is refused"):
        _CheckedRedirects(allow_http=False).redirect_request(None, None, 302, "Found", {}, "http://evil.test/x")


def test_the_request_carries_a_descriptive_user_agent():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers["User-Agent"])
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.handle_request, daemon=True).start()
    try:
        fetch_book(7, data_params(f"http://127.0.0.1:{httpd.server_address[1]}/{{id}}.txt"))
    finally:
        httpd.server_close()
    assert seen and seen[0].startswith("charlm/") and "pipeline" in seen[0]


@pytest.mark.parametrize("data, max_bytes, expected, ok", [
    (b"x" * 100, 100, None, True),
    (b"x" * 101, 100, None, False),    # no Content-Length: the cap is enforced while reading
    (b"x" * 100, 100, 100, True),
])
def test_read_capped(data, max_bytes, expected, ok):
    if ok:
        assert read_capped(io.BytesIO(data), max_bytes, expected) == data
    else:
        with pytest.raises(_Refused, match="more than data.max_bytes"):
            read_capped(io.BytesIO(data), max_bytes, expected)


# ------------------------------------------------------------------------------------------ local
def write_folder(folder, books: dict[int, bytes]):
    folder.mkdir(parents=True, exist_ok=True)
    for book_id, body in books.items():
        (folder / f"{book_id}.txt").write_bytes(body)
    return folder


def test_a_local_folder_and_a_path_template(tmp_path):
    folder = write_folder(tmp_path / "novels", TINY_BOOKS)
    for source in (str(folder), str(folder / "{id}.txt")):
        out = tmp_path / f"raw-{len(source)}"
        fetch_books(data_params(source, ids=tuple(TINY_BOOKS)), out)
        assert {int(p.stem): p.read_bytes() for p in out.iterdir()} == TINY_BOOKS


def test_a_relative_source_resolves_against_the_working_directory(tmp_path, monkeypatch):
    write_folder(tmp_path / "shared" / "novels", {101: TINY_BOOKS[101]})
    monkeypatch.chdir(tmp_path / "shared")
    assert fetch_book(101, data_params("novels/{id}.txt")) == TINY_BOOKS[101]


@pytest.mark.parametrize("files, message", [
    ({}, "book 101: cannot fetch {folder}/101.txt: file not found"),
    ({101: b""}, "book 101 ({folder}/101.txt): file is empty (0 bytes)"),
    ({101: b"\x89PNG\r\n\x1a\n\x00\x00"}, "book 101 ({folder}/101.txt): looks like a binary file"),
    ({101: "caf\u00e9".encode("latin-1")}, "book 101 ({folder}/101.txt): not valid UTF-8"),
    ({101: b"x" * 2000}, "book 101: cannot fetch {folder}/101.txt: file is 2000 bytes, more than data.max_bytes"),
])
def test_bad_local_books(tmp_path, files, message):
    folder = write_folder(tmp_path / "novels", files)
    assert fetch_error(str(folder), max_bytes=1000).startswith(message.format(folder=folder))


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(CharlmError, match=f"data.source: folder {tmp_path / 'nope'} does not exist"):
        fetch_books(data_params(str(tmp_path / "nope" / "{id}.txt")), tmp_path / "raw")


def test_nothing_is_written_unless_every_book_arrives(tmp_path):
    folder = write_folder(tmp_path / "novels", {101: TINY_BOOKS[101], 102: b""})
    out = write_folder(tmp_path / "raw", {101: b"the previous download"})
    with pytest.raises(CharlmError, match="book 102"):
        fetch_books(data_params(str(folder), ids=(101, 102)), out)
    assert [p.name for p in out.iterdir()] == ["101.txt"]
    assert (out / "101.txt").read_bytes() == b"the previous download"


@pytest.mark.parametrize("book_id", [0, -3, True, 1.5, "../7", "My_book", ""])
def test_book_ids_must_be_positive_integers_or_names(book_id):
    with pytest.raises(CharlmError, match="must be a positive integer or a name matching"):
        book_location("novels", book_id)


def test_book_location_forms():
    assert book_location("https://h/{id}/pg{id}.txt", 11) == "https://h/11/pg11.txt"
    assert book_location("novels", 11) == "novels/11.txt"
    assert book_location("a{b}/{id}.txt", 11) == "a{b}/11.txt"

