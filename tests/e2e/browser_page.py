"""The browser test's page, built as a console is built: TypeScript generated from protos/ by
`buf generate` with protoc-gen-es, bundled with its connect-web calls by esbuild. Built once per
content (the protos, the page's source, the installed tools) under .tools/web/pages; not committed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

WEB_TOOLS = REPO_ROOT / ".tools" / "web"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's (scripts/setup); Playwright's own download is unreachable
PAGE_SOURCE = Path(__file__).parent / "web"
PROTOS = REPO_ROOT / "protos"


def _content_hash() -> str:
    digest = hashlib.sha256()
    inputs = [*sorted(PROTOS.rglob("*.proto")), *sorted(PAGE_SOURCE.iterdir()), WEB_TOOLS / ".installed"]
    for path in inputs:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_page() -> Path:
    """The directory to serve: index.html and console.js."""
    if not (WEB_TOOLS / ".installed").is_file():
        raise RuntimeError(".tools/web is installed by scripts/setup (the browser client tools)")
    built = WEB_TOOLS / "pages" / _content_hash()
    if (built / "console.js").is_file():
        return built
    work = built.with_name(f".{built.name}-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(PAGE_SOURCE, work)
    tools = WEB_TOOLS / "node_modules" / ".bin"
    env = {**os.environ, "PATH": f"{tools}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    for command in (
        [str(tools / "buf"), "generate", str(PROTOS), "--template", "buf.gen.yaml"],
        # Inside .tools/web, so that the page's imports resolve from its node_modules.
        [str(tools / "esbuild"), "console.ts", "--bundle", "--format=esm", "--target=es2022", "--outfile=console.js"],
    ):
        subprocess.run(command, cwd=work, env=env, check=True, capture_output=True, text=True, timeout=300)
    try:
        work.rename(built)  # whole or not at all
    except OSError:  # another test process built the same content meanwhile
        shutil.rmtree(work, ignore_errors=True)
    return built


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium, headless, driven by Playwright (a module fixture's browser)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is installed by scripts/setup")
    with sync_playwright() as playwright:
        # As root, Chromium runs only without its own sandbox; it loads nothing but the test's pages.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()
