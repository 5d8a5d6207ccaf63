"""Every relative link of README.md and docs/*.md leads somewhere: the file (or folder)
exists, and a ``#fragment`` names a heading of the target page, slugged as GitHub does
(lower case, punctuation other than ``-`` and ``_`` dropped, spaces to hyphens, a repeated
heading suffixed -1, -2 ...).  Links inside fenced code blocks are text, not links."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from .markdown_commands import FENCE, ROOT

LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a page."""
    seen: Counter = Counter()
    out = set()
    for line in FENCE.sub("", markdown).splitlines():
        if not line.startswith("#"):
            continue
        base = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        out.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return out


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file or heading does not exist."""
    text = page.read_text(encoding="utf-8")
    wrong = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z]+:", target):
            continue                          # http(s), mailto: not checked offline
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            wrong.append(f"{target}: no {path}")
        elif fragment and dest.suffix == ".md" and \
                fragment not in slugs(dest.read_text(encoding="utf-8")):
            wrong.append(f"{target}: {dest.name} has no heading #{fragment}")
    return wrong


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    assert not broken_links(page), f"{page.name}: " + "; ".join(broken_links(page))


def test_the_pages_have_links_to_check():
    assert sum(len(LINK.findall(p.read_text(encoding="utf-8"))) for p in PAGES) > 50


def test_a_missing_file_or_heading_is_reported(tmp_path):
    (tmp_path / "other.md").write_text("# Title\n\n## Step 7: speciate\n\n## Step 7: speciate\n")
    page = tmp_path / "page.md"
    page.write_text("[a](other.md#step-7-speciate) [b](other.md#step-7-speciate-1) "
                    "[c](#local) [d](other.md#step-8) [e](gone.md) [f](https://x.org/#y)\n"
                    "```\n[g](inside-a-fence.md)\n```\n\n# Local\n")
    assert broken_links(page) == ["other.md#step-8: other.md has no heading #step-8",
                                  "gone.md: no gone.md"]
