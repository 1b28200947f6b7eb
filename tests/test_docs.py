"""The documentation site's sources: every page listed, the README included once, links fixed.

Building the site (`mkdocs build --strict`, which runs the tutorial notebook) is a CI step of
its own, after the tests; these checks are the fast part.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="reading mkdocs.yml needs PyYAML (the [docs] extra)")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
INCLUDE = re.compile(r'^--8<-- "README\.md:([a-z-]+)"$', re.MULTILINE)
START = re.compile(r"--8<-- \[start:([a-z-]+)\]")


def nav_files(nav: object) -> list[str]:
    """The files a nav lists, however deep."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in nav_files(value)]
    return [f for item in nav for f in nav_files(item)]


def config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_every_page_is_in_the_nav() -> None:
    """A new page (a lesson, say) must be given its place in mkdocs.yml's nav."""
    listed = nav_files(config()["nav"])
    excluded = set(config()["exclude_docs"].split())
    pages = sorted(
        p.relative_to(DOCS).as_posix()
        for p in [*DOCS.glob("*.md"), *DOCS.glob("*.ipynb")]
        if p.name not in excluded
    )
    missing = [page for page in pages if page not in listed]
    assert not missing, f"add these pages to the nav in mkdocs.yml: {missing}"
    assert all((DOCS / page).is_file() for page in listed)
    assert len(listed) == len(set(listed))


def test_each_readme_section_is_on_the_site_once() -> None:
    """The README is the one source of the overview: each of its sections is included by
    exactly one page, and nothing of it is left out."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = START.findall(readme)
    included = [
        name for page in DOCS.glob("*.md") for name in INCLUDE.findall(page.read_text("utf-8"))
    ]
    assert sorted(included) == sorted(sections)
    assert len(set(sections)) == len(sections)
    outside = readme.split(f"<!-- --8<-- [end:{sections[-1]}] -->")[-1].strip()
    assert not outside  # no text after the last section
    for a, b in itertools.pairwise(sections):
        between = readme.split(f"[end:{a}] -->")[1].split(f"<!-- --8<-- [start:{b}]")[0]
        assert not between.strip(), f"text between README sections {a} and {b}"


@pytest.fixture(scope="module")
def hooks():
    pytest.importorskip("markdown", reason="the docs hook needs Markdown (the [docs] extra)")
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts/docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_links_point_at_the_site(hooks) -> None:
    text = (
        "[map](docs/architecture.md) [tutorial](docs/tutorial.md) "
        "[t](docs/tutorial.ipynb#top) [`benchmarks/`](benchmarks/README.md) "
        "[web](https://example.org/x.md) [here](#speed) [gone](docs/nowhere.md) "
        '<img src="docs/images/descend.png" alt="x"> [own](lesson-inside.md)'
    )
    assert hooks.rewrite(text, DOCS, up=1) == (
        "[map](architecture.md) [tutorial](tutorial.ipynb) "
        "[t](tutorial.ipynb#top) `benchmarks/` "
        "[web](https://example.org/x.md) [here](#speed) [gone](docs/nowhere.md) "
        '<img src="../images/descend.png" alt="x"> [own](lesson-inside.md)'
    )
