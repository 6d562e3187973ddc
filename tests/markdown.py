"""Read the project's Markdown as GitHub renders it: headings and their anchors, relative links, tables.

Shared by the documentation tests (``tests/test_readme.py``, ``tests/test_docs.py``) so that every
check agrees on what a heading's anchor is and which text is a link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def shown(path: Path) -> str:
    """``path`` as a reader finds it: relative to the project root when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def documentation_files() -> list[Path]:
    """Every Markdown page a reader follows links through: the README, docs/ and bench/README.md."""
    return [README, *sorted(DOCS.rglob("*.md")), ROOT / "bench" / "README.md"]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks, where headings and links live."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(path: Path) -> list[str]:
    """The text of every heading of a page, in order."""
    return [m.group(2) for _, line in prose_lines(path.read_text(encoding="utf-8")) if (m := _HEADING.match(line))]


def anchors(path: Path) -> set[str]:
    """Every ``#anchor`` a link into ``path`` may use: heading slugs (duplicates numbered) and ``<a id>``s."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in headings(path):
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    found.update(_HTML_ANCHOR.findall(path.read_text(encoding="utf-8")))
    return found


@dataclass(frozen=True)
class Link:
    """One relative link of a page: where it is, and what it points at."""

    source: Path
    line: int
    target: str

    def resolve(self) -> tuple[Path, str]:
        """(the file the link opens, its anchor or "")."""
        path, _, anchor = self.target.partition("#")
        file = self.source if not path else (self.source.parent / path).resolve()
        return file, anchor

    def problem(self) -> str | None:
        """Why the link is broken, or None."""
        file, anchor = self.resolve()
        if not file.exists():
            return f"{shown(file)} does not exist"
        if anchor and file.suffix == ".md" and anchor not in anchors(file):
            return f"{shown(file)} has no heading or <a id> for #{anchor}"
        return None

    def __str__(self) -> str:
        return f"{shown(self.source)}:{self.line}: ({self.target})"


def relative_links(path: Path) -> list[Link]:
    """Every link of ``path`` that is not a URL: into the repository, or to an anchor."""
    links = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for target in _LINK.findall(_INLINE_CODE.sub("", line)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                links.append(Link(path, number, target))
    return links


def table_after(text: str, header: str) -> list[list[str]]:
    """The rows (cells, stripped) of the Markdown table whose header line starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows
