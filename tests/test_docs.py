"""The user's documents: the README is a guide of at most 150 lines whose every figure names the
committed file it comes from, and no user document speaks of how it was written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FIGURE = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")  # 1,000 and up, as the README writes counts
SOURCE = re.compile(r"\b(?:results|benchmarks)/[\w./-]+\.(?:md|csv|json|png)\b")
PROCESS_WORDS = re.compile(r"\b(?:this|last|next|first|previous) session\b|the issue (?:asks|says)"
                           r"|other agents|load average", re.IGNORECASE)


def blocks(text: str) -> list[str]:
    return [b for b in re.split(r"\n\s*\n", text) if b.strip()]


def test_the_readme_is_a_short_guide():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


def test_every_figure_in_the_readme_names_a_committed_source():
    """A block with a count names its source file, or the block before it does (a table's
    source is given in the sentence that introduces it); every file named exists."""
    parts = blocks(README.read_text(encoding="utf-8"))
    for i, block in enumerate(parts):
        for path in SOURCE.findall(block):
            assert (ROOT / path).exists(), path
        if FIGURE.search(block) and not block.lstrip().startswith("```"):
            nearby = " ".join(parts[max(0, i - 2): i + 1])
            assert SOURCE.search(nearby), f"no source file named for: {block[:120]!r}"


def test_user_documents_do_not_speak_of_how_they_were_written():
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        found = PROCESS_WORDS.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.name}: {found.group(0) if found else ''}"
