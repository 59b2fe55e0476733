"""Shared test helpers: synthetic books, a loopback HTTP server, and a throwaway copy of the repo for real `dvc repro`."""
from __future__ import annotations

import contextlib
import http.server
import json
import importlib
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterable, Iterator

import pytest
import yaml

from charlm.data.vocab import Vocab, vocab_from_counts

REPO = Path(__file__).resolve().parents[1]
TINY_PARAMS = REPO / "tests" / "tiny_params.yaml"
SHARED_NOVELS = REPO.parent / "shared" / "data" / "novels"


# ------------------------------------------------------------------------------ optional inputs
def skip_unless(present: bool, missing: str) -> None:
    """Skip the test when an optional input is missing, but fail it under CI=true, where CI provides it:
    a CI run that skipped would pass without having tested anything."""
    if present:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{missing}, and CI=true: CI must provide it")
    pytest.skip(missing)


def require_shared_novels() -> Path:
    """../shared/data/novels (the ten books), or skip the test (fail it in CI)."""
    skip_unless(SHARED_NOVELS.is_dir(), f"{SHARED_NOVELS} is not present")
    return SHARED_NOVELS


def require_module(name: str) -> ModuleType:
    """The imported module, or skip the test (fail it in CI) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        skip_unless(False, f"the {name} package is not installed")


_WORDS = ("the whale said that alice was very tired of sitting by her sister on the bank and of having "
          "nothing to do once or twice she had peeped into the book her sister was reading but it had no "
          "pictures or conversations in it and what is the use of a book thought captain ahab without "
          "pictures elizabeth bennet walked into the room holmes smiled it was a dark and stormy night").split()


def synthetic_text(n_words: int, seed: int) -> str:
    """Pseudo-English with punctuation, capitals and line breaks, so cleaning has work to do."""
    rng = random.Random(seed)
    lines, line = [], []
    for i in range(n_words):
        word = rng.choice(_WORDS)
        if rng.random() < 0.08:
            word = word.capitalize()
        if rng.random() < 0.05:
            word += rng.choice([",", ".", ";", "!", "?"])
        line.append(word)
        if len(line) >= rng.randint(6, 12):
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\n".join(lines) + "\n"


def synthetic_book(book_id: int, n_words: int = 1500, markers: bool = True, crlf: bool = False,
                   bom: bool = False) -> bytes:
    """One fake Gutenberg file: optional header/footer markers, CRLF line ends and a UTF-8 BOM."""
    body = synthetic_text(n_words, seed=book_id)
    if markers:
        body = (f"The Project Gutenberg eBook of Book {book_id}\nLicence text that must be stripped.\n"
                f"*** START OF THE PROJECT GUTENBERG EBOOK BOOK {book_id} ***\n{body}"
                f"*** END OF THE PROJECT GUTENBERG EBOOK BOOK {book_id} ***\nMore licence text.\n")
    if crlf:
        body = body.replace("\n", "\r\n")
    data = body.encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


TINY_BOOKS = {
    101: synthetic_book(101, markers=True),
    102: synthetic_book(102, markers=False),
    103: synthetic_book(103, markers=True, crlf=True, bom=True),
}


def build_vocab(tokens: Iterable[str], token: str, min_freq: int, reserved: tuple[str, ...] = ()) -> Vocab:
    """The vocabulary of a token sequence, ordered as the build_vocab stage orders it (vocab_from_counts)."""
    return vocab_from_counts(Counter(tokens), token, min_freq, reserved)


# ------------------------------------------------------------------------------ loopback server
@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    delay_s: float = 0.0        # sleep before answering (timeouts)
    content_length: int | None = None  # lie about the length (truncated/oversized responses)


@dataclass
class LoopbackServer:
    """An http.server on 127.0.0.1 in a thread, answering from `routes` and logging requested paths."""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def start(self) -> "LoopbackServer":
        server_ref = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server_ref.requests.append(self.path)
                route = server_ref.routes.get(self.path, Route(b"not found", 404))
                if route.delay_s:
                    time.sleep(route.delay_s)
                try:
                    self.send_response(route.status)
                    length = route.content_length if route.content_length is not None else len(route.body)
                    self.send_header("Content-Length", str(length))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve_books(books: dict[int, bytes]) -> LoopbackServer:
    """Start a loopback server with each book at /<id>.txt; data.source is then `<url>/{id}.txt`."""
    return LoopbackServer({f"/{i}.txt": Route(b) for i, b in books.items()}).start()


def stage_lines(output: str, verb: str) -> set[str]:
    """Stage names from dvc repro's `Running stage 'X':` / `Stage 'X' is cached` / `Pulling data for stage: 'X'`."""
    return {line.split("'")[1] for line in output.splitlines() if verb in line and line.count("'") >= 2}


TRAIN_SUMMARY = re.compile(r"^\w+ step \d+ tokens [\d,]+ ", re.MULTILINE)   # one line per evaluation


# ----------------------------------------------------------------------- a throwaway repo copy
_COPIED = ["dvc.yaml", "params.yaml", "stages", "src", "profiles", ".dvc/config", ".dvcignore", ".gitignore"]


def tool_env() -> dict[str, str]:
    """The environment for dvc/git subprocesses: this venv first on PATH, no analytics, a git identity."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="charlm-test", GIT_AUTHOR_EMAIL="test@example.invalid",
               GIT_COMMITTER_NAME="charlm-test", GIT_COMMITTER_EMAIL="test@example.invalid",
               PYTHONHASHSEED="0")
    return env


@dataclass
class TinyRepo:
    """A copy of the project in a temp folder, with the tiny params profile, as its own git repo."""
    root: Path

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run a command (e.g. "dvc", "repro") in the copy; on failure show its output."""
        proc = subprocess.run(list(args), cwd=self.root, env=tool_env(), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                                 f"\n--- stderr\n{proc.stderr}")
        return proc

    def dvc(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "dvc", *args, check=check, timeout=timeout)

    @property
    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def set_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def edit_params(self, **dotted: object) -> None:
        """edit_params(**{"models.gru.hidden_size": 8}) sets dotted keys in params.yaml."""
        params = self.params
        for key, value in dotted.items():
            *parents, last = key.split(".")
            node = params
            for p in parents:
                node = node[p]
            node[last] = value
        self.set_params(params)

    def stale_stages(self) -> set[str]:
        """Names of the stages `dvc status` reports as changed."""
        out = self.dvc("status", "--json").stdout
        import json
        return set(json.loads(out or "{}"))


def hermetic_env(repo: TinyRepo) -> dict[str, str]:
    """tool_env() plus the copy's own src/ first on PYTHONPATH, and unbuffered output.

    The venv's editable install points at the main checkout's src/, which other work edits while tests run;
    the copy's src/ is the snapshot that dvc.lock hashes, so that is the code the stages must run.
    """
    env = tool_env()
    env["PYTHONPATH"] = str(repo.root / "src")
    env["PYTHONUNBUFFERED"] = "1"   # summary lines reach the test as they are printed, not at exit
    return env


def copy_project(dest: Path) -> TinyRepo:
    """Copy the project (pipeline, code, params, profiles) into `dest` as its own git repo, uncommitted."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in _COPIED:
        src = REPO / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, target)
    repo = TinyRepo(dest)
    repo.run("git", "init", "-q")
    return repo


def make_tiny_repo(dest: Path, source: str, allow_http: bool = True, books: dict[int, bytes] | None = None
                   ) -> TinyRepo:
    """Copy the project into `dest`, install the tiny params profile pointed at `source`, git init + commit."""
    repo = copy_project(dest)
    params = yaml.safe_load(TINY_PARAMS.read_text())
    params["data"]["source"] = source
    params["data"]["allow_http"] = allow_http
    if books is not None:
        params["data"]["books"] = [{"id": i, "title": f"Book {i}", "author": "Test"} for i in books]
    repo.set_params(params)
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "-m", "tiny copy")
    return repo


@contextlib.contextmanager
def finished_tiny_repo(dest: Path) -> Iterator[TinyRepo]:
    """A tiny repo at `dest` after one full `dvc repro`, committed, its loopback book server up while in use."""
    server = serve_books(TINY_BOOKS)
    try:
        tiny = make_tiny_repo(dest, f"{server.url}/{{id}}.txt", books=TINY_BOOKS)
        tiny.dvc("repro")
        tiny.run("git", "add", "-A")
        tiny.run("git", "commit", "-q", "-m", "first run")
        yield tiny
    finally:
        server.stop()


MAX_COLUMNS = 60   # what an 80-column `dvc exp show --only-changed` and VS Code's table can still show


def metric_columns(root) -> dict[str, list[str]]:
    """{metrics file: its dotted keys} as `dvc metrics show --json` gives them in the workspace: one column
    each in `dvc exp show`, which makes one per (file, key)."""
    proc = subprocess.run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], cwd=root, env=tool_env(),
                          capture_output=True, text=True, timeout=300, check=True)

    def flat(node, prefix=""):
        if not isinstance(node, dict):
            return [prefix[:-1]]
        return [key for k, v in node.items() for key in flat(v, f"{prefix}{k}.")]

    (workspace,) = json.loads(proc.stdout).values()
    return {path: flat(file.get("data", {})) for path, file in workspace["data"].items()}
