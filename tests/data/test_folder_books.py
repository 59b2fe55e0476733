"""A folder of any .txt files is a corpus: `charlm books <folder>`, and the data stages with names as book ids."""
from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from charlm.data.corpus import preprocess_books, read_raw_books
from charlm.data.fetch import book_location, fetch_books
from charlm.data.folder import folder_overrides
from charlm.data.pin import body_sha256
from charlm.errors import CharlmError
from charlm.evaluate.splits import book_spans
from charlm.params import Book, DataParams, load_params
from charlm.profiles import override_args
from helpers import REPO, synthetic_text, tool_env

TEXTS = {"shakespeare.txt": synthetic_text(2000, seed=1).encode(), "my_letters.txt": synthetic_text(1500, seed=2).encode()}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A folder with the real params.yaml and my_texts/{shakespeare,my_letters}.txt; the cwd of the test."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    write_texts(tmp_path / "my_texts", TEXTS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_texts(folder: Path, texts: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in texts.items():
        (folder / name).write_bytes(body)
    return folder


def charlm(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["charlm", *args], cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------------------ charlm books
def test_every_txt_file_is_a_book_named_by_its_file_with_its_pin(project):
    (project / "my_texts" / "README.md").write_text("not a book")
    assert folder_overrides("my_texts") == {"data.source": "my_texts", "data.books": [
        {"id": "my_letters", "title": "My letters", "sha256": body_sha256(TEXTS["my_letters.txt"], "x")},
        {"id": "shakespeare", "title": "Shakespeare", "sha256": body_sha256(TEXTS["shakespeare.txt"], "x")}]}


def test_a_number_stays_a_number_unless_it_has_a_leading_zero(project):
    write_texts(project / "my_texts", {"84.txt": TEXTS["shakespeare.txt"], "011.txt": TEXTS["my_letters.txt"]})
    ids = [book["id"] for book in folder_overrides("my_texts")["data.books"]]
    assert ids == ["011", 84, "my_letters", "shakespeare"]   # 011.txt is not the file of book 11


# Names that Hydra (dvc exp run -S) would read as numbers, booleans or null unless quoted.
TRICKY = ["1e5", "true", "null", "nan", "1_000", "011", "84", "my-letters"]


@pytest.mark.parametrize("folder", ["my_texts", "{tmp}/my own texts"])
def test_the_printed_words_pass_through_dvc_exp_run_unchanged(project, folder):
    from dvc.utils.hydra import apply_overrides   # what `dvc exp run -S` itself calls

    folder = folder.format(tmp=project)
    write_texts(Path(folder), {**TEXTS, **{f"{name}.txt": TEXTS["my_letters.txt"] for name in TRICKY}})
    proc = charlm("books", folder, cwd=project)
    assert proc.returncode == 0, proc.stderr
    words = shlex.split(proc.stdout)   # as xargs reads them
    expected = folder_overrides(folder)
    assert words == override_args(expected)
    apply_overrides(project / "params.yaml", words[1::2])
    data = load_params(project / "params.yaml").data
    assert data.source == folder
    assert [book.model_dump(exclude={"author"}) for book in data.books] == expected["data.books"]


def test_yaml_is_the_block_to_paste_under_data(project):
    proc = charlm("books", "my_texts", "--yaml", cwd=project)
    assert proc.returncode == 0, proc.stderr
    pins = {name: body_sha256(body, name) for name, body in TEXTS.items()}
    assert proc.stdout.splitlines() == [
        "  source: my_texts",
        "  books:",
        f"    - {{id: my_letters, title: My letters, sha256: {pins['my_letters.txt']}}}",
        f"    - {{id: shakespeare, title: Shakespeare, sha256: {pins['shakespeare.txt']}}}"]
    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["data"].update(yaml.safe_load("data:\n" + proc.stdout)["data"])
    (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    books = load_params(project / "params.yaml").data.books
    assert [b.model_dump(exclude={"author"}) for b in books] == folder_overrides("my_texts")["data.books"]


def _symlink_out(project: Path) -> None:
    (project / "secret.txt").write_bytes(TEXTS["shakespeare.txt"])
    (project / "my_texts" / "evil.txt").symlink_to(project / "secret.txt")


@pytest.mark.parametrize("break_it, message", [
    (lambda p: (p / "my_texts" / "My Letters.txt").write_bytes(TEXTS["my_letters.txt"]),
     "my_texts/My Letters.txt: 'My Letters' cannot be a book id (a name must match ^[a-z0-9][a-z0-9_-]{0,63}$); "
     "rename it, e.g. to my_letters.txt"),
    (lambda p: (p / "my_texts" / ".notes.txt").write_bytes(TEXTS["my_letters.txt"]),
     "my_texts/.notes.txt: '.notes' cannot be a book id"),
    (_symlink_out, "book evil: cannot fetch my_texts/evil.txt: resolves to {root}/secret.txt, outside my_texts"),
    (lambda p: (p / "my_texts" / "empty.txt").write_bytes(b""), "book empty (my_texts/empty.txt): file is empty"),
    (lambda p: (p / "my_texts" / "dots.txt").write_bytes(b"... 1 2 3 !!!\n" * 100),
     "book dots (my_texts/dots.txt): no text left after cleaning (preprocess.alphabet keeps"),
    (lambda p: (p / "my_texts" / "latin1.txt").write_bytes("caf\u00e9 ".encode("latin-1") * 100),
     "book latin1 (my_texts/latin1.txt): not valid UTF-8"),
    (lambda p: (p / "my_texts" / "short.txt").write_bytes(b"two words"), "book short (my_texts/short.txt): too short"),
    (lambda p: [f.unlink() for f in (p / "my_texts").iterdir()], "my_texts: has no .txt files (one book per file)"),
    (lambda p: shutil.rmtree(p / "my_texts"), "my_texts: no such folder"),
], ids=["bad-name", "hidden", "symlink-out", "empty", "cleans-to-nothing", "not-utf8", "too-short", "no-txt",
        "no-folder"])
def test_a_bad_file_is_one_line_naming_it_and_nothing_is_printed(project, break_it, message):
    break_it(project)
    proc = charlm("books", "my_texts", cwd=project)
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("error: " + message.replace("{root}", str(project.resolve()))), proc.stderr


# --------------------------------------------------------------- the data stages with named books
def data_params(source: str, ids, verify="strict") -> DataParams:
    books = tuple(Book(id=i, sha256=body_sha256(TEXTS.get(f"{i}.txt", b"x"), "x")) for i in ids)
    return DataParams(source=source, allow_http=False, max_bytes=1_000_000, timeout_s=1.0, retries=0, verify=verify,
                      books=books)


def test_fetch_and_preprocess_take_names_as_ids(tmp_path):
    folder = write_texts(tmp_path / "my_texts", TEXTS)
    data = data_params(str(folder), ["shakespeare", "my_letters"])
    assert fetch_books(data, tmp_path / "raw") == {"shakespeare": len(TEXTS["shakespeare.txt"]),
                                                   "my_letters": len(TEXTS["my_letters.txt"])}
    raw = read_raw_books(tmp_path / "raw", data.books)
    assert raw == {"shakespeare": TEXTS["shakespeare.txt"], "my_letters": TEXTS["my_letters.txt"]}
    corpus = preprocess_books(raw, data.books, load_params(REPO / "params.yaml").preprocess)
    assert [b["id"] for b in corpus.books["test"]] == ["shakespeare", "my_letters"]
    assert set(corpus.metrics["per_book"]) == {"shakespeare", "my_letters"}
    assert all(book["pinned"] for book in corpus.metrics["per_book"].values())


def test_book_spans_keep_name_ids():
    books = [{"id": "shakespeare", "title": "S", "start": 0, "end": 2}, {"id": 84, "title": "F", "start": 3, "end": 8}]
    spans = book_spans(books, list(range(8)), 8, "books.json: test")
    assert [span.id for span in spans] == ["shakespeare", 84]


def test_a_name_id_is_the_file_name_in_every_source_form():
    assert book_location("my_texts", "my_letters") == "my_texts/my_letters.txt"
    assert book_location("texts/{id}.txt", "my_letters") == "texts/my_letters.txt"
    assert book_location("https://h/{id}.txt", "my-letters") == "https://h/my-letters.txt"


@pytest.mark.parametrize("break_it, message", [
    (lambda folder: (folder / "my_letters.txt").unlink(),
     "book my_letters: cannot fetch {folder}/my_letters.txt: file not found"),
    (lambda folder: ((folder / "my_letters.txt").unlink(),
                     (folder / "my_letters.txt").symlink_to(folder.parent / "elsewhere.txt")),
     "book my_letters: cannot fetch {folder}/my_letters.txt: resolves to {folder.parent}/elsewhere.txt, "
     "outside {folder}"),
], ids=["missing", "symlink-out"])
def test_fetch_refuses_a_missing_file_or_one_outside_the_folder_and_writes_nothing(tmp_path, break_it, message):
    folder = write_texts(tmp_path / "my_texts", TEXTS)
    (tmp_path / "elsewhere.txt").write_bytes(TEXTS["my_letters.txt"])
    break_it(folder)
    with pytest.raises(CharlmError) as err:
        fetch_books(data_params(str(folder), ["shakespeare", "my_letters"]), tmp_path / "raw")
    assert str(err.value) == message.format(folder=folder)
    assert not (tmp_path / "raw").exists()


def test_a_symlink_to_another_book_in_the_folder_is_fine(tmp_path):
    folder = write_texts(tmp_path / "my_texts", TEXTS)
    (folder / "alias.txt").symlink_to("shakespeare.txt")
    data = DataParams(source=str(folder), allow_http=False, max_bytes=1_000_000, timeout_s=1.0, retries=0,
                      verify="strict", books=(Book(id="alias"),))
    fetch_books(data, tmp_path / "raw")
    assert (tmp_path / "raw" / "alias.txt").read_bytes() == TEXTS["shakespeare.txt"]
