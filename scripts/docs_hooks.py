"""MkDocs hook: the README's links, written from the repository's root, made to work on the site.

The site's pages include sections of README.md (see mkdocs.yml), whose links point at
``docs/...`` and at files elsewhere in the repository. After pymdownx.snippets has included
them (a Markdown preprocessor, so this is one too, run right after it), each link is resolved as
the page's own (relative to it) or else as the README's (relative to the root): one into
``docs/`` becomes relative to the page, ``docs/tutorial.md`` (GitHub's rendering of the
notebook, left out of the site) becomes the notebook itself, and one to a file outside
``docs/`` (benchmarks/, src/) keeps its text and loses its link, since the site does not
hold that file. A link that resolves nowhere is left as it is, for ``--strict`` to report.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\s]+)\)")
SOURCE = re.compile(r'(src|href)="([^"]+)"')
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:|^#|^/")  # a URL, an anchor, an absolute path
RENAMED = {"tutorial.md": "tutorial.ipynb"}  # excluded from the site, in favour of


SNIPPETS_PRIORITY = 32  # pymdownx.snippets' preprocessor; a lower priority runs after it


class _Links(Preprocessor):
    """Rewrites the links of the page being rendered (MkDocs renders one page at a time)."""

    folder = DOCS
    up = 0  # 1: the page's URL is a folder below its file's (lessons.md is at lessons/)

    def run(self, lines: list[str]) -> list[str]:
        return rewrite("\n".join(lines), self.folder, self.up).split("\n")


class _LinksExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_Links(md), "nudgenet-links", SNIPPETS_PRIORITY - 1)


def on_config(config: Any, **_: Any) -> Any:
    """Add the link rewriting to the Markdown extensions."""
    config.markdown_extensions.append(_LinksExtension())
    return config


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Note which page is rendered next, for the links relative to it."""
    _Links.folder = (DOCS / page.file.src_uri).parent
    _Links.up = 0 if page.file.name == "index" else 1  # MkDocs' directory URLs
    return markdown


def rewrite(markdown: str, folder: Path, up: int = 0) -> str:
    """The links of Markdown (and HTML ``src``/``href``) in ``folder``, pointed at the site.

    MkDocs turns a Markdown link to a file into one to its page, but leaves raw HTML alone:
    there a path must be relative to the page's URL, ``up`` folders below its file's.
    """

    def link(match: re.Match[str]) -> str:
        bang, text, target = match.groups()
        new = _target(target, folder)
        if new is None:
            return text
        return f"{bang}[{text}]({new})"

    def source(match: re.Match[str]) -> str:
        attribute, target = match.groups()
        new = None if EXTERNAL.match(target) else _target(target, folder)
        return match.group(0) if new is None else f'{attribute}="{"../" * up}{new}"'

    return SOURCE.sub(source, LINK.sub(link, markdown))


def _target(target: str, folder: Path) -> str | None:
    """Where ``target`` should point from a page in ``folder``; None: nowhere on the site."""
    if EXTERNAL.match(target):
        return target  # a URL, an anchor or an absolute path: not ours to change
    path, _, anchor = target.partition("#")
    suffix = f"#{anchor}" if anchor else ""
    for base in (folder, ROOT):
        candidate = (base / path).resolve()
        if not candidate.exists():
            continue
        if not candidate.is_relative_to(DOCS):
            return None
        name = RENAMED.get(candidate.relative_to(DOCS).as_posix())
        if name is not None:
            candidate = DOCS / name
        return Path(os.path.relpath(candidate, folder)).as_posix() + suffix
    return target
