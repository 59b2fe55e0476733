"""Get each book's bytes from data.source (a URL template, a folder, or a path template) into data/raw.

Downloads are https only (http:// needs data.allow_http), with a per-operation timeout, retries with
exponential backoff on transient failures, a byte cap per book and a descriptive User-Agent. Every
book is fetched and checked (UTF-8 text, and its pin: data/pin.py) before any file is written, so a
failure leaves data/raw as it was.
"""
from __future__ import annotations

import http.client
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, Callable

from charlm.data.clean import decode_book
from charlm.data.pin import verify_pins
from charlm.errors import CharlmError
from charlm.io import atomic_write
from charlm.params import BOOK_NAME, BookId, DataParams, is_book_id

CHUNK = 1 << 16


def _user_agent() -> str:
    try:
        version = metadata.version("charlm")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"charlm/{version} (reproducible character-LM pipeline; fetches each book once per run)"


class _Refused(Exception):
    """A failure that retrying cannot fix (too large, wrong scheme, 4xx)."""


class _Transient(Exception):
    """A failure worth retrying (timeout, reset, truncated body, 5xx)."""


def is_url(source: str) -> bool:
    """Whether data.source names a download (any scheme://) rather than a local folder or path template."""
    return "://" in source


def _check_scheme(url: str, allow_http: bool) -> None:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "http" and not allow_http:
        raise _Refused(f"plain http:// is refused ({url}); use https, or set data.allow_http: true")
    if scheme not in ("https", "http"):
        raise _Refused(f"unsupported URL scheme {scheme!r} ({url}); use https://")


def book_location(source: str, book_id: BookId) -> str:
    """The URL or local path of one book: `{id}` in `source` replaced, or <folder>/<id>.txt."""
    if not is_book_id(book_id):   # params checked it; a path is built from nothing else
        raise CharlmError(f"data.books: book id must be a positive integer or a name matching {BOOK_NAME}, "
                          f"got {book_id!r}")
    if "{id}" in source:
        return source.replace("{id}", str(book_id))  # not str.format: other braces stay literal
    if is_url(source):
        raise CharlmError(f"data.source: a URL must contain {{id}} (one file per book), got {source!r}")
    return str(Path(source).expanduser() / f"{book_id}.txt")


def check_source(data: DataParams) -> None:
    """Reject a source that cannot work before fetching anything: bad scheme, or a missing folder."""
    if is_url(data.source):
        try:
            _check_scheme(data.source, data.allow_http)
        except _Refused as e:
            raise CharlmError(f"data.source: {e}") from None
        return
    folder = Path(data.source).expanduser()
    if "{id}" in data.source:
        folder = folder.parent
    if "{id}" not in str(folder) and not folder.is_dir():
        raise CharlmError(f"data.source: folder {folder} does not exist (cwd: {Path.cwd()})")


def read_capped(stream: BinaryIO, max_bytes: int, expected: int | None) -> bytes:
    """All bytes of `stream`, refusing more than `max_bytes` and fewer than a declared `expected` length."""
    if expected is not None and expected > max_bytes:
        raise _Refused(f"response is {expected} bytes, more than data.max_bytes ({max_bytes})")
    chunks, total = [], 0
    while chunk := stream.read(min(CHUNK, max_bytes + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise _Refused(f"response is more than data.max_bytes ({max_bytes}) bytes")
    if expected is not None and total != expected:
        raise _Transient(f"truncated response: got {total} of {expected} bytes")
    return b"".join(chunks)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect must not downgrade https to http (or leave for another scheme) behind our back.
    def __init__(self, allow_http: bool):
        self.allow_http = allow_http

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_scheme(newurl, self.allow_http)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _attempt(opener: urllib.request.OpenerDirector, url: str, data: DataParams) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"})
    try:
        # timeout_s bounds each network operation (connect, every read), as sockets define it.
        with opener.open(request, timeout=data.timeout_s) as response:
            length = response.headers.get("Content-Length")
            return read_capped(response, data.max_bytes, int(length) if length and length.isdigit() else None)
    except urllib.error.HTTPError as e:
        e.close()  # it holds the open connection
        reason = f"HTTP {e.code} {e.reason}"
        raise (_Transient if e.code >= 500 or e.code in (408, 429) else _Refused)(reason) from None
    except urllib.error.URLError as e:
        raise _Transient(str(e.reason)) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as e:
        raise _Transient(str(e) or type(e).__name__) from None


def download(url: str, data: DataParams, backoff_s: float = 1.0) -> bytes:
    """The body at `url`; retried `data.retries` times after transient failures, waiting backoff_s * 2^k."""
    opener = urllib.request.build_opener(_CheckedRedirects(data.allow_http))
    _check_scheme(url, data.allow_http)
    for attempt in range(data.retries + 1):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            return _attempt(opener, url, data)
        except _Transient as e:
            last = e
    attempts = data.retries + 1
    raise _Transient(f"{last} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})")


def read_local(path: str, max_bytes: int, folder: str | None = None) -> bytes:
    """The bytes of a local book file, refusing one larger than `max_bytes` or (given `folder`) outside `folder`."""
    file = Path(path)
    if folder is not None and not file.resolve().is_relative_to(Path(folder).expanduser().resolve()):
        # A symlink in a folder of books must not read, say, ~/.ssh into data/raw.
        raise _Refused(f"resolves to {file.resolve()}, outside {folder}")
    if not file.is_file():
        raise _Refused("not a file" if file.exists() else "file not found")
    size = file.stat().st_size
    if size > max_bytes:
        raise _Refused(f"file is {size} bytes, more than data.max_bytes ({max_bytes})")
    return file.read_bytes()


def fetch_book(book_id: BookId, data: DataParams, backoff_s: float = 1.0) -> bytes:
    """One book's bytes, exactly as served, checked to be non-empty UTF-8 text."""
    location = book_location(data.source, book_id)
    try:
        if is_url(data.source):
            raw = download(location, data, backoff_s)
        else:
            folder = None if "{id}" in data.source else data.source   # a path template may go anywhere
            raw = read_local(location, data.max_bytes, folder)
    except (_Refused, _Transient) as e:
        raise CharlmError(f"book {book_id}: cannot fetch {location}: {e}") from None
    decode_book(raw, f"book {book_id} ({location})")
    return raw


def fetch_books(data: DataParams, out_dir: str | Path, backoff_s: float = 1.0,
                log: Callable[[str], None] | None = None,
                warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[BookId, int]:
    """Write every book to <out_dir>/<id>.txt (atomically, after all were fetched and checked against their pins);
    returns id -> bytes. A pin mismatch is a `warn` line, or under data.verify: strict an error that writes nothing."""
    check_source(data)
    books = {}
    for book in data.books:
        books[book.id] = fetch_book(book.id, data, backoff_s)
        if log:
            log(f"book {book.id} ({book.title}): {len(books[book.id]):,} bytes")
    locations = {book.id: book_location(data.source, book.id) for book in data.books}
    verify_pins(books, data.books, locations, strict=data.verify == "strict", warn=warn)
    for book_id, raw in books.items():
        atomic_write(Path(out_dir) / f"{book_id}.txt", raw)
    return {book_id: len(raw) for book_id, raw in books.items()}
