"""The web console (console/, served at /console/ on the browser port) in Debian's Chromium,
driven by Playwright, against a real dev stack with API keys: Alice signs in, finds the hostile
agent's manual-mode session, sees its suggestion, approves it and the tip lands on the chain
(read back from anvil), pauses and resumes it, each change arriving over the one WatchEvents
stream; a viewer's key is offered no button that would fail; everything the agent wrote renders
as inert text (no script runs, no link is made, bidi overrides and terminal escapes are shown
as escapes); the page has no serious accessibility violation (axe-core)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.app.console_files import BUILT_CONSOLE, CONTENT_SECURITY_POLICY
from tests.conftest import REPO_ROOT
from tests.helpers import wait_for

HOSTILE_AGENT = REPO_ROOT / "tests" / "agents" / "hostile"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's (scripts/setup); Playwright's own download is unreachable
AXE = REPO_ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
# `CORRAL_SCREENSHOTS=docs/console` makes the journey save the screenshots docs/console.md shows.
SCREENSHOTS = os.environ.get("CORRAL_SCREENSHOTS")


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not (BUILT_CONSOLE / "index.html").is_file():
        pytest.fail("the console is built by scripts/setup (console/dist)")
    with DevStack(tmp_path_factory.mktemp("console"), minute_seconds=1.0, api_keys=True, browser_origins=[]) as stack:
        yield stack


@pytest.fixture(scope="module")
def session(stack, agent_image) -> tuple[pb.Session, str, dict[str, str]]:
    """The hostile agent's manual-mode session on a wallet of Alice's, and the users' keys."""
    wallet, recipient = stack.create_wallet(), Account.create().address
    stack.fund(wallet, 10**18)
    keys = {"alice": stack.add_user("alice", ["viewer", "operator", "approver"], [wallet]),
            "val": stack.add_user("val", ["viewer"], [wallet])}
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(HOSTILE_AGENT))).agent
    started = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent.id, wallet_address=wallet, settings={"recipient": recipient}, allocation_amount=str(10**17),
        execution_mode=common_pb2.EXECUTION_MODE_MANUAL)).session
    return started, recipient, keys


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is installed by scripts/setup")
    with sync_playwright() as playwright:
        # As root, Chromium runs only without its own sandbox; it loads nothing but the console.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def signed_in(browser, stack: DevStack, key: str, **context):
    page = browser.new_context(**context).new_page()
    page.goto(f"http://{stack.browser_address}/console/")
    page.fill("#api-key", key)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("[data-testid=caller]")
    return page


def test_alice_approves_the_suggestion_and_pauses_and_resumes_the_session_live(stack, session, browser):
    started, recipient, keys = session
    page = signed_in(browser, stack, keys["alice"], viewport={"width": 1100, "height": 800})
    assert page.inner_text("[data-testid=caller]") == "alice"
    screenshot(page, "sessions")
    page.click(f"button:has-text('session {started.id}')")
    approve = page.wait_for_selector("button:has-text('Approve')", timeout=120_000)
    page.click("button:has-text('Show logs')")
    page.wait_for_selector("pre.logs")
    screenshot(page, "session-with-a-suggestion")
    approve.click()
    page.wait_for_selector("h4:has-text('executed')", timeout=120_000)  # the suggestion's change, over WatchEvents
    assert wait_for(lambda: stack.web3.eth.get_balance(recipient) == 1000, what="the approved tip on the chain")

    page.click("button:has-text('Pause')")
    page.wait_for_selector("[data-testid=detail-status]:has-text('paused')")
    assert stack.api.GetSession(pb.GetSessionRequest(session_id=started.id)).session.status == pb.SESSION_STATUS_PAUSED
    page.click("button:has-text('Resume')")
    page.wait_for_selector("[data-testid=detail-status]:has-text('running')")
    page.close()


def test_a_viewer_is_offered_no_button_that_would_fail(stack, session, browser):
    started, _, keys = session
    page = signed_in(browser, stack, keys["val"])
    page.click(f"button:has-text('session {started.id}')")
    page.wait_for_selector("[data-testid=detail-status]")
    page.wait_for_selector("h3:has-text('Suggestions')")
    for action in ("Approve", "Reject", "Pause", "Resume", "Stop"):
        assert page.locator(f"button:has-text('{action}')").count() == 0, action
    page.close()


def test_what_the_agent_wrote_renders_as_inert_text(stack, session, browser):
    started, _, keys = session
    page = signed_in(browser, stack, keys["alice"])
    answer = page.request.get(f"http://{stack.browser_address}/console/")
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.click(f"button:has-text('session {started.id}')")
    page.wait_for_selector("h4:has-text('Suggestion')", timeout=120_000)
    page.click("button:has-text('Show logs')")
    logs = page.wait_for_selector("pre.logs").inner_text()
    assert "<script>window.__pwned = 'script'</script>" in logs  # shown, as text
    assert "\\u{202e}txt.exe\\u{202c}" in logs and "\\u{2066}reviewer\\u{2069}" in logs and "\\u{001b}[31mred" in logs
    assert "\u202e" not in page.inner_text("body") and "\x1b" not in page.inner_text("body")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("script:not([src])").count() == 0 and page.locator("img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    page.close()


def test_the_console_has_no_serious_accessibility_violation(stack, session, browser):
    started, _, keys = session
    # axe-core is injected as a script: only this page's checking context lifts the CSP for it.
    page = signed_in(browser, stack, keys["alice"], bypass_csp=True)
    page.click(f"button:has-text('session {started.id}')")
    page.wait_for_selector("h3:has-text('Executions')")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document)).violations.map(v => ({id: v.id, impact: v.impact}))")
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], violations
    page.close()
