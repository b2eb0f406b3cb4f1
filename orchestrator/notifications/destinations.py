"""Where a notification may go. Destinations come from API callers, so they are checked
as an agent's egress is (orchestrator/egress/addresses.py): http(s) only, no credentials
in a webhook URL, and by default no loopback, private, link-local or metadata address
(SSRF). The webhook's name is resolved once per attempt and the connection made to the
address that was checked (a DNS answer that changes in between changes nothing)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from orchestrator.egress.addresses import AddressPolicy, AddressRefused, IPAddress

MAX_URL_CHARS = 2048
_PUBLIC_ONLY = AddressPolicy()
_ANY_ADDRESS = AddressPolicy(allowed_networks=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")))


class DestinationRefused(Exception):
    """The message names the problem and the fix (shown to the API caller)."""


@dataclass(frozen=True)
class WebhookUrl:
    url: str
    host: str
    port: int


def parse_webhook_url(url: str) -> WebhookUrl:
    if len(url) > MAX_URL_CHARS:
        raise DestinationRefused(f"url is {len(url)} characters; at most {MAX_URL_CHARS}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"url is not a URL ({exc}); give one such as https://example.com/corral-hook") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("url must be an http:// or https:// URL with a host, e.g. https://example.com/corral-hook")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("url must not carry a user or password: the signature (Corral-Signature) authenticates deliveries")
    return WebhookUrl(url, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def display_form(url: str) -> str:
    """What listing shows of an apprise URL: its scheme only (it may hold passwords or tokens)."""
    scheme = url.partition("://")[0]
    return f"{scheme}://…" if scheme else "…"


# Apprise services whose connection goes to the URL's own host (checked as a webhook's is),
# or to the service's fixed public endpoint (the "host" is an account token). Others (syslog,
# a local socket, services that take a server in a parameter) are refused.
APPRISE_SCHEMES = frozenset({
    "mailto", "mailtos", "json", "jsons", "xml", "xmls", "form", "forms", "ntfy", "ntfys", "gotify", "gotifys",
    "mmost", "mmosts", "rocket", "rockets", "matrix", "matrixs", "slack", "tgram", "discord", "msteams", "pover", "pbul",
})
# Query parameters by which apprise connects somewhere other than the URL's host: their
# value is checked as a host too (mailto's smtp=), or the URL refused.
_APPRISE_HOST_PARAMETERS = frozenset({"smtp"})
_APPRISE_REFUSED_PARAMETERS = frozenset({"host", "hostname", "server", "proxy", "url", "socket"})


def apprise_hosts(url: str) -> list[str]:
    """The hosts an apprise URL makes apprise connect to (json://host/..., mailto://...@host,
    mailto's smtp=HOST); DestinationRefused for a URL whose connections cannot be checked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise DestinationRefused(f"apprise_url is not a URL ({exc})") from None
    if parts.scheme.lower() not in APPRISE_SCHEMES:
        raise DestinationRefused(f"apprise_url: the {parts.scheme[:20]!r} service is not offered; use one of "
                                 + ", ".join(sorted(APPRISE_SCHEMES)))
    hosts = [host] if host else []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in _APPRISE_REFUSED_PARAMETERS:
            raise DestinationRefused(f"apprise_url: the parameter {key[:20]!r} would send the notification elsewhere; leave it out")
        if key.lower() in _APPRISE_HOST_PARAMETERS:
            hosts.append(value.rsplit("@", 1)[-1].split(":")[0].strip("[]"))
    return hosts


async def checked_addresses(host: str, port: int, allow_private: bool) -> list[IPAddress]:
    """The addresses of `host` a delivery may connect to; DestinationRefused when none."""
    policy = _ANY_ADDRESS if allow_private else _PUBLIC_ONLY
    try:
        return await policy.resolve(host, port)
    except AddressRefused as exc:
        raise DestinationRefused(f"{exc}; [notifications] allow_private_destinations lets an operator allow them") from None


class PinnedResolver(AbstractResolver):
    """Resolves the webhook's host to the addresses already checked, and nothing else."""

    def __init__(self, host: str, addresses: list[IPAddress]) -> None:
        self._host, self._addresses = host, addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host != self._host:
            raise OSError(f"{host} is not the checked destination")
        return [ResolveResult(hostname=host, host=str(address), port=port, family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for address in self._addresses]

    async def close(self) -> None:
        return None
