"""zpaq, the program: one text compressed into a fresh archive, and the bytes of its coded data.

    zpaq a text.zpaq text.txt -m<method> -t1 -noattributes -fragment 18

    text.zpaq = [c: update header] [d: the model │ the coded text] [h: fragment table] [i: the file's index]
                                                   └──── coded ───┘

`coded` is the d block from its first coded byte to its end. zpaq codes a block with a fresh model, so for
one text in one block, the coded bytes of train + split minus those of train alone are the split's cost
given train, exactly as the arithmetic coder spent it (the d block's few end marks are the same in both).
What an archive adds besides is its index: 28 bytes for each dedupe fragment (a SHA-1, a size, an id) and
one file entry. At zpaq's default fragment size (~64 KiB) our val split brings 6 fragments, and -m5's
archive grows by 0.0054 bpc more than its coded text at one fragment (1.6748 against 1.6694).
`-fragment 18` (no cut before 16 MiB) keeps each text in one fragment, so the whole archive grows by
exactly the coded bytes, as tests/evaluate/test_zpaq.py shows on a real zpaq.

The method each archive was coded with is the one zpaq prints for its block (`[1..1] 5032767 -method
56,234,1`), and two archives compared must show the same. A level (1..5) is not one model: zpaq picks it
from its analysis of the block (a redundancy estimate and whether it looks like text, the two numbers after
the comma) and sizes it to the block, so train alone and train + val could get different models. The
level is therefore pinned to zpaq's own analysis of train at its default fragment size (what `zpaq a -m5`
would choose), and the model sizes are compared too. An expert method (`x…`) is one fixed model.

One thread (`-t1`) and fixed file names: the sizes are the same on every run. The archives' bytes are not
(zpaq stores the time of each update), so only sizes are used.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from charlm.errors import CharlmError
from charlm.params import ZPAQ_EXPERT

SKIPPED = {"skipped": "zpaq not found on PATH: apt-get install zpaq, then dvc repro -f -s zpaq"}
_FILE = "text.txt"                    # the one file in every archive
_ONE_FRAGMENT = "18"                  # -fragment 18: no content-defined cut before 64 * 2^18 bytes = 16 MiB
_BANNER = re.compile(r"^zpaq v(\d+)\.(\d+)")
_BLOCK = re.compile(r"\[(\d+)\.\.(\d+)\] (\d+) -method (\S+)")   # zpaq's line per block: [fragments] bytes -method m
_TAG = bytes.fromhex("376b5374a03183d38cb228b0d3")   # the locator tag zpaq writes before every block
_DATA = re.compile(rb"\x01jDC\d{14}d\d{10}\x00[^\x00]*\x00\x00")   # a d block's segment header, coded data next
_MIB = 1 << 20


@dataclass(frozen=True)
class Archive:
    """What one compression left: coded bytes, the whole archive's bytes, and zpaq's line for its one block."""
    coded: int        # the d block from its first coded byte to its end (module docstring)
    size: int         # the archive file
    method: str       # as zpaq printed it for the block (a level: with its analysis appended)
    block_bytes: int  # the block's input: the text and 4 bytes of fragment list per fragment, + 8
    fragments: int


def find_zpaq() -> str | None:
    """The path of the zpaq executable on PATH, or None."""
    return shutil.which("zpaq")


def zpaq_version(exe: str) -> str:
    """zpaq's version ("7.15") from its banner; not a zpaq 7 (whose options this uses): CharlmError."""
    out = _run([exe], check=False).stdout   # no arguments: banner and usage, exit status 1
    match = _BANNER.match(out)
    if match is None:
        raise CharlmError(f"{exe}: not zpaq (no 'zpaq vX.Y' banner in its output)")
    if int(match[1]) < 7:
        raise CharlmError(f"{exe}: zpaq {match[1]}.{match[2]} is too old; the anchor needs zpaq 7 (-t, -noattributes)")
    return f"{match[1]}.{match[2]}"


def block_digits(level: int, size: int) -> str:
    """Log2 of the block size in MiB for a level: zpaq's default (4 for -m1/-m2, 6 above) or what `size` bytes need."""
    default = 4 if level <= 2 else 6
    # zpaq keeps a little of each block for itself; a 1/16 margin leaves plenty, and 2^11 MiB is its limit.
    needed = math.ceil(math.log2(max(size + size // 16, 1) / _MIB)) if size > _MIB else 0
    return str(min(max(default, needed), 11))


def method_argument(exe: str, method: int | str, size: int, train: str, workdir: Path) -> str:
    """The -method to code texts of up to `size` bytes with: an expert method as written, after checking that
    its block holds them; a level with its block size and pinned to zpaq's analysis of `train`."""
    if isinstance(method, str):
        digits = int(ZPAQ_EXPERT.fullmatch(method)[1])
        if size + size // 16 > _MIB << digits:
            raise CharlmError(f"zpaq method {method}: its blocks hold 2^{digits} MiB, too few for the "
                              f"{size / _MIB:.1f} MiB of train and a split; write x{block_digits(3, size)} or more")
        return method
    digits = block_digits(method, size)
    # Level 0 stores without coding, but zpaq analyses the block as for any level and prints the result.
    stored = compress(exe, train, f"0{digits}", workdir, fragment=None)
    redundancy, kind = stored.method.split(",")[1:3]
    return f"{method}{digits},{redundancy},{kind}"


def compress(exe: str, text: str, argument: str, workdir: Path, fragment: str | None = _ONE_FRAGMENT) -> Archive:
    """A fresh archive of `text` as one file, in one block, coded with -method `argument`; zpaq errors: CharlmError."""
    data = text.encode("utf-8")
    workdir.mkdir(parents=True)
    (workdir / _FILE).write_bytes(data)
    archive = workdir / "text.zpaq"
    options = ["-fragment", fragment] if fragment else []
    out = _run([exe, "a", archive.name, _FILE, f"-m{argument}", "-t1", "-noattributes", *options], cwd=workdir).stdout
    blocks = _BLOCK.findall(out)
    if len(blocks) != 1:
        raise CharlmError(f"zpaq packed {len(data)} bytes into {len(blocks)} blocks, not 1: the split would not be "
                          f"coded given train")
    _check_listing(exe, archive, len(data))
    first, last, block_bytes, method = blocks[0]
    fragments = int(last) - int(first) + 1
    if fragment and fragments != 1:
        raise CharlmError(f"zpaq cut {len(data)} bytes into {fragments} fragments despite -fragment {fragment}")
    raw = archive.read_bytes()
    return Archive(coded_bytes(raw), len(raw), method, int(block_bytes), fragments)


def coded_bytes(archive: bytes) -> int:
    """Bytes of an archive's data blocks from their first coded byte to their end; none found: CharlmError."""
    total, found = 0, False
    for block in archive.split(_TAG)[1:]:
        header = _DATA.search(block)
        if header is not None:
            total, found = total + len(block) - header.end(), True
    if not found:
        raise CharlmError("zpaq's archive has no data block (jDC…d) where zpaq 7 writes one")
    return total


def coded_with(archive: Archive) -> tuple[str, int | None]:
    """(method, model size) zpaq coded the block with: an expert method as printed, with no size of its own; a
    level as its first three fields (level and block size, redundancy, kind: zpaq appends its own analysis
    after them, unused when they are given) and the log2 MiB that libzpaq sizes its model to from the block's
    bytes n, bits(n + 4095) - 20."""
    if not archive.method[:1].isdigit():
        return archive.method, None
    return ",".join(archive.method.split(",")[:3]), max((archive.block_bytes + 4095).bit_length() - 20, 0)


def check_same_method(argument: str, archives: dict[str, Archive]) -> None:
    """CharlmError unless every archive (named by what it holds) was coded with one model, that of `argument`."""
    used = {name: coded_with(archive) for name, archive in archives.items()}
    if {method for method, _ in used.values()} != {argument} or len(set(used.values())) > 1:
        shown = "; ".join(f"{name}: -method {method}" + (f", model of 2^{bits} MiB" if bits is not None else "")
                          for name, (method, bits) in used.items())
        raise CharlmError(f"zpaq -m{argument} did not code these archives with one model ({shown}): a difference "
                          f"of their sizes would not be one model's cost")


def _check_listing(exe: str, archive: Path, size: int) -> None:
    # zpaq exits 0 even when it could not read a file, so the archive must be seen to hold all of it.
    listing = _run([exe, "l", archive.name], cwd=archive.parent).stdout
    if not re.search(rf"^- .*\s{size}\s+{re.escape(_FILE)}$", listing, re.MULTILINE):
        raise CharlmError(f"zpaq's archive {archive.name} does not list {_FILE} with its {size} bytes")


def _run(cmd: list[str], cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except OSError as e:   # not executable, or gone since shutil.which found it
        raise CharlmError(f"{cmd[0]}: cannot run ({e.strerror})") from None
    if check and proc.returncode != 0:
        # zpaq ends stderr with a timing line ("0.000 seconds (with errors)"); the message is the line before.
        lines = [l for l in proc.stderr.splitlines() if l.strip() and not re.match(r"[\d.]+ seconds \(", l)]
        last = lines[-1] if lines else (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise CharlmError(f"{' '.join(cmd[:2])} exited {proc.returncode}: {last.strip()}")
    return proc
