"""Every relative link and image in README.md and docs/*.md points at a file in the repo (and a heading).

External links (http, https, mailto) are skipped: the suite runs offline. `#anchor` parts pointing into a
markdown file must name one of its headings, slugged as GitHub does.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# [text](target "title") and ![alt](target); text may wrap onto the next line.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def outside_fences(text: str) -> list[str]:
    """The lines of `text`, with those of fenced code blocks blanked out (so line numbers stay)."""
    lines, in_fence = [], False
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            lines.append("")
        else:
            lines.append("" if in_fence else line)
    return lines


def prose(text: str) -> str:
    """`text` without code: fenced blocks and inline code spans blanked out, line numbers kept."""
    return re.sub(r"`[^`\n]*`", lambda m: "x" * len(m.group()), "\n".join(outside_fences(text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lowercased, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a markdown file; repeated headings get -1, -2, ... as on GitHub."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in outside_fences(page.read_text(encoding="utf-8")):
        match = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link and image in the prose of a markdown file."""
    text = prose(page.read_text(encoding="utf-8"))
    matches = sorted([*INLINE_LINK.finditer(text), *REFERENCE_DEF.finditer(text)], key=lambda m: m.start())
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in matches]


def broken_links(page: Path, root: Path) -> list[str]:
    """One line per relative link of `page` that does not resolve to a path under `root` (or a heading)."""
    problems = []
    for line, target in links(page):
        if SCHEME.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page.resolve()
        where = f"{page.relative_to(root)}:{line}: {target}"
        if not dest.is_relative_to(root.resolve()):
            problems.append(f"{where}: outside the repository")
        elif not dest.exists():
            problems.append(f"{where}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where}: no heading with anchor #{anchor} in {dest.relative_to(root.resolve())}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    problems = broken_links(page, REPO)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_checker_reports_a_missing_file_a_missing_heading_and_an_escape(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## `a_b.py`: the part\n", encoding="utf-8")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n"
        "[ok](other.md) [ok](other.md#a_bpy-the-part) [ok](#page) [web](https://example.org/x.md)\n"
        "```\n[inside a code block](nowhere.md)\n```\n"
        "`[inline code](nowhere.md)`\n"
        "[gone](missing.md) ![gone](../plots/missing.png)\n"
        "[bad anchor](other.md#no-such-heading) [wrapped\ntext](../../outside.md)\n",
        encoding="utf-8")
    problems = broken_links(page, tmp_path)
    assert [p.split(": ", 1)[0] for p in problems] == ["docs/page.md:7"] * 2 + ["docs/page.md:8"] * 2
    assert [p.rsplit(": ", 1)[1] for p in problems] == [
        "no such file", "no such file", "no heading with anchor #no-such-heading in docs/other.md",
        "outside the repository"]


def test_headings_slug_as_on_github():
    assert slug("4. Reproduce") == "4-reproduce"
    assert slug("Model settings (from params.yaml)") == "model-settings-from-paramsyaml"
    assert slug("`ngram_speed.py`: n-grams against nltk.lm") == "ngram_speedpy-n-grams-against-nltklm"
