"""The documentation site builds with every link, anchor, nav entry, README snippet and API entry
resolved (`mkdocs build --strict`), and README.md stays a landing page that links every page."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_README_LINES = 300


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # mkdocs-material's end-of-life banner
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "api" / "index.html").is_file()


def test_the_readme_is_a_landing_page_linking_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= MAX_README_LINES, "README.md is a landing page: move text into docs/"
    links = {target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", readme)
             if not re.match(r"[a-z]+:", target) and not target.startswith("#")}
    missing = sorted(link for link in links if not (ROOT / link).is_file())
    assert not missing, f"README.md links to files that do not exist: {missing}"
    pages = {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert not pages - links, f"README.md does not link these docs pages: {sorted(pages - links)}"
