"""/console serves only the files the build wrote, each with the CSP; a path that is not one of
them (a traversal, a directory) is 404 and reaches no file; the API behind it is unchanged; the
console's own origin is the listen address, never a Host header a rebinding page chooses."""

from __future__ import annotations

import asyncio

from orchestrator.app.browser_server import own_origins
from orchestrator.app.console_files import CONTENT_SECURITY_POLICY, ConsoleFiles, load_console


def call(app, path: str, method: str = "GET") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": method, "path": path, "headers": []}, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def _api(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-api", b"yes")]})
    await send({"type": "http.response.body", "body": b"api"})


def test_only_the_built_files_are_served_with_the_policy(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>c</title>")
    (tmp_path / "console.js").write_text("console.log(1)")
    (tmp_path / "notes.txt").write_text("not served: an unknown kind")
    (tmp_path.parent / "secret.html").write_text("outside")
    app = ConsoleFiles(_api, load_console(tmp_path))

    status, headers, body = call(app, "/console/")
    assert (status, body) == (200, b"<!doctype html><title>c</title>")
    assert headers[b"content-security-policy"].decode() == CONTENT_SECURITY_POLICY and headers[b"x-content-type-options"] == b"nosniff"
    assert call(app, "/console/console.js")[1][b"content-type"].startswith(b"text/javascript")
    redirect, headers, _ = call(app, "/console")
    assert (redirect, headers[b"location"]) == (308, b"/console/")
    for path in ("/console/../secret.html", "/console/%2e%2e/secret.html", "/console/notes.txt", "/console/dist/", "/console//etc/passwd"):
        assert call(app, path)[0] == 404, path
    assert call(app, "/console/", "POST")[0] == 405
    # Every answer of the console's, refusals included, carries the policy; the policy allows nothing inline.
    for path, method in (("/console/", "GET"), ("/console/", "HEAD"), ("/console", "GET"), ("/console/x", "GET"), ("/console/", "PUT")):
        policy = call(app, path, method)[1][b"content-security-policy"].decode()
        assert "default-src 'none'" in policy and "script-src 'self';" in policy and "unsafe" not in policy, (path, method)
    assert call(app, "/corral.v1.OrchestratorService/GetCaller", "POST")[2] == b"api"


def test_no_console_without_a_build(tmp_path):
    assert load_console(tmp_path) is None


def test_the_consoles_own_origins_come_from_the_listen_address():
    assert own_origins("127.0.0.1:8080", tls=False) == ["http://127.0.0.1:8080", "http://localhost:8080"]
    assert own_origins("console.example.com:443", tls=True) == ["https://console.example.com:443"]
