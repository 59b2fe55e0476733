"""zpaq, the program: coded bytes without the archive index, one model per pair, and its errors from fake zpaqs."""
from __future__ import annotations

import sys

import pytest

from charlm.errors import CharlmError
from charlm.evaluate.zpaq import Archive, block_digits, check_same_method, coded_bytes, compress, method_argument
from zpaq_fakes import FAST, fake_zpaq, python_zpaq, require_zpaq, words

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fake zpaqs are shell scripts")


# ----------------------------------------------------------------------------------- real zpaq
def test_one_fragment_makes_the_archives_growth_the_coded_texts_growth(tmp_path):
    exe = require_zpaq()
    text = words(85000, seed=0)
    train, split = text[:360_000], text[360_001:]   # 360k and 150k characters
    grown, rest = {}, {}
    for fragment in ("18", None):   # the anchor's one fragment; zpaq's default, ~64 KiB each
        alone = compress(exe, train, FAST, tmp_path / f"{fragment}-a", fragment=fragment)
        more = compress(exe, f"{train} {split}", FAST, tmp_path / f"{fragment}-b", fragment=fragment)
        grown[fragment] = (more.size - alone.size, more.coded - alone.coded, more.fragments - alone.fragments)
        rest[fragment] = (alone.size - alone.coded, more.size - more.coded)   # headers, model, index
    archive, coded, extra = grown["18"]
    assert extra == 0 and archive == coded > 0, grown   # exactly the coded bytes: no index in the difference
    assert rest["18"][0] == rest["18"][1] < 2000, rest   # what is not coded text is the same for any text
    archive, coded, extra = grown[None]
    # Each fragment the split brings adds ~28 bytes of index (a SHA-1, a size, a pointer: 84 bytes for 3 here).
    assert extra >= 2 and abs(archive - coded - 28 * extra) <= 4, grown[None]


def test_a_level_is_pinned_to_zpaqs_own_analysis_of_train(tmp_path):
    exe = require_zpaq()
    train = words(20000, seed=3)
    argument = method_argument(exe, 5, 200_000, train, tmp_path / "analysis")
    # What `zpaq a -m5` would choose for train, at its default fragment size: level and block size, redundancy, kind.
    chosen = compress(exe, train, "56", tmp_path / "plain", fragment=None).method.split(",")
    assert argument == ",".join(chosen[:3])
    alone = compress(exe, train, argument, tmp_path / "a")
    more = compress(exe, f"{train} {words(3000, seed=4)}", argument, tmp_path / "b")
    check_same_method(argument, {"train": alone, "train + val": more})   # zpaq's own analysis appended, unused
    assert alone.method.startswith(argument + ",")


# ------------------------------------------------------------------------- without a real zpaq
def test_one_model_check_passes_a_pinned_level_and_an_expert_method():
    level = [Archive(900, 1000, "56,234,1,227,0", 4_767_890, 1), Archive(990, 1090, "56,234,1,227,1", 5_032_767, 1)]
    check_same_method("56,234,1", dict(zip(("train", "train + val"), level)))
    expert = Archive(900, 1000, "x6.0ci1", 4_767_890, 1)
    check_same_method("x6.0ci1", {"train": expert, "train + val": expert})


@pytest.mark.parametrize("argument, methods, sizes, shown", [
    # zpaq's analysis decided the level's model for each archive: text in one, not in the other
    ("56,227,0", ["56,227,0,227,0", "56,227,1,227,1"], [4_767_890] * 2, "train + val: -method 56,227,1"),
    # the same level, but libzpaq sizes its model to the block: 3.9 MiB and 4.1 MiB straddle 2^22 bytes
    ("56,234,1", ["56,234,1,227,1"] * 2, [4_100_000, 4_300_000],
     "model of 2^2 MiB; train + val: -method 56,234,1, model of 2^3"),
    ("x6.0ci1", ["x6.0ci1", "x6.0ci1.1"], [1000] * 2, "train + val: -method x6.0ci1.1"),
    ("x6.0ci1", ["x6.0c", "x6.0c"], [1000] * 2, "train: -method x6.0c;"),   # both, but not as asked
])
def test_archives_of_a_pair_coded_with_different_models_are_refused(argument, methods, sizes, shown):
    archives = {name: Archive(900, 1000, method, size, 1)
                for name, method, size in zip(("train", "train + val"), methods, sizes)}
    with pytest.raises(CharlmError, match="did not code these archives with one model") as error:
        check_same_method(argument, archives)
    assert shown in str(error.value)


def test_an_expert_method_whose_blocks_are_too_small_for_the_text_is_refused(tmp_path):
    mib = 1 << 20
    assert method_argument("zpaq", "x3.0ci1", 5 * mib, "", tmp_path) == "x3.0ci1"   # no zpaq run for x…
    with pytest.raises(CharlmError, match=r"blocks hold 2\^2 MiB, too few for the 5.0 MiB .* write x6 or more"):
        method_argument("zpaq", "x2.0ci1", 5 * mib, "", tmp_path)


def test_block_size_is_zpaqs_default_unless_the_text_needs_more():
    mib = 1 << 20
    assert block_digits(5, 5 * mib) == "6"     # -m5's own 64 MiB
    assert block_digits(1, 5 * mib) == "4"     # -m1's own 16 MiB
    assert block_digits(1, 16 * mib) == "5"    # 16 MiB and zpaq's margin do not fit in 16 MiB
    assert block_digits(5, 100 * mib) == "7"
    assert block_digits(3, 4000 * mib) == "11"   # zpaq's largest block, 2 GiB


def test_coded_bytes_without_a_data_block_are_an_error():
    with pytest.raises(CharlmError, match="no data block"):
        coded_bytes(b"7kSt not an archive")


def test_a_failing_zpaq_is_an_error_with_its_message(tmp_path):
    exe = fake_zpaq(tmp_path / "bin", 'echo "zpaq error: disk on fire" >&2\necho "0.000 seconds (with errors)" >&2\n'
                                      "exit 2\n")
    with pytest.raises(CharlmError, match="exited 2: zpaq error: disk on fire"):
        compress(str(exe), "a b", FAST, tmp_path / "a")


def test_a_text_split_over_two_blocks_is_refused(tmp_path):
    # A zpaq that archives the file but reports two compressed blocks: the split would not be coded given train.
    exe = fake_zpaq(tmp_path / "bin", 'echo x > "$2"\necho "[1..3] 100 -method 14,234,1"\n'
                                      'echo "[4..5] 100 -method 14,234,1"\n')
    with pytest.raises(CharlmError, match="into 2 blocks, not 1"):
        compress(str(exe), "a", "14", tmp_path / "a")


def test_a_text_cut_into_fragments_despite_the_fragment_size_is_refused(tmp_path):
    exe = python_zpaq(tmp_path / "bin", fragments=3)
    with pytest.raises(CharlmError, match="into 3 fragments despite -fragment 18"):
        compress(str(exe), "a b c", FAST, tmp_path / "a")


def test_an_archive_that_does_not_list_the_whole_text_is_refused(tmp_path):
    exe = python_zpaq(tmp_path / "bin", listed_bytes=1)
    with pytest.raises(CharlmError, match="does not list text.txt with its 5 bytes"):
        compress(str(exe), "a b c", FAST, tmp_path / "a")
