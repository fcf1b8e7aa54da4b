"""The documentation site works offline: formulas are MathML made at build time, and no page loads a script,
stylesheet or font from the network."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, mkdocs_hooks


@pytest.fixture(scope="module")
def hooks():
    return mkdocs_hooks()


def test_formulas_marked_by_arithmatex_become_mathml(hooks):
    html = ('<p>An encoder <span class="arithmatex">\\(f(x) \\in \\mathbb{R}^D\\)</span>.</p>'
            '<div class="arithmatex">\\[L = \\max(m - D, 0)^2 &lt; 1\\]</div>')
    rendered = hooks.math_to_mathml(html)
    assert "arithmatex" not in rendered and "\\(" not in rendered
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in rendered
    assert 'display="block"' in rendered and "&#x0003C;" in rendered  # the escaped < came through as the operator


@pytest.mark.slow
def test_no_page_loads_anything_from_the_network(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)], cwd=REPO,
                   check=True, capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    loads = re.compile(r'<(?:script|img|iframe)[^>]+src="(https?:|//)|<link[^>]+href="(https?:|//)[^"]*"[^>]*>')
    remote = {str(page.relative_to(site)) for page in site.rglob("*.html") if loads.search(page.read_text())}
    assert remote == set()
    assert "<math " in (site / "concepts" / "index.html").read_text()


def test_the_site_links_the_repository_named_at_build_time(monkeypatch):
    from mkdocs.config import load_config

    monkeypatch.setenv("TOOLKIT_REPO_URL", "https://example.org/metric-toolkit")
    assert load_config(str(REPO / "mkdocs.yml"))["repo_url"] == "https://example.org/metric-toolkit"
    monkeypatch.delenv("TOOLKIT_REPO_URL")
    assert load_config(str(REPO / "mkdocs.yml"))["repo_url"] is None  # no link rather than a wrong one
