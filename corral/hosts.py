"""Egress host rules as one value type: what `"api.llama.fi"`, `"*.coingecko.com"`,
`"api.example.com:8443"` and `"http://plain.example"` mean, parsed once.

An agent declares the hosts it needs in circuit.toml (`[network] allow = [...]`); the operator
sets the hosts an installation permits at all with the same syntax; the egress proxy asks the
rules whether a (scheme, host, port) may be reached. HTTPS on port 443 unless a rule says
otherwise; plain HTTP only where a rule names `http://`. Names only: an IP address is never a
rule, so every connection goes through the proxy's own resolution and address checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Where an agent's JSON-RPC reads go (`http://rpc.corral.internal/ethereum:1`): answered by the
# egress proxy itself from the operator's nodes (orchestrator/egress/chain_reads.py).
CHAIN_READS_HOST = "rpc.corral.internal"
CHAIN_READS_URL = f"http://{CHAIN_READS_HOST}"
MAX_RULES = 64
MAX_HOST_CHARS = 253
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_RULE = re.compile(r"(?:(?P<scheme>https?)://)?(?P<host>[^:/]+)(?::(?P<port>[0-9]{1,5}))?/?")


class Scheme(StrEnum):
    HTTPS = "https"
    HTTP = "http"


class HostRuleError(ValueError):
    """A rule that cannot be used; the message names it and says how to write it."""


@dataclass(frozen=True)
class HostRule:
    """One allowed host (or `*.` a domain's subdomains) on one port, over one scheme."""

    host: str  # lower case; "*.example.com" for any name under example.com (not itself)
    port: int
    scheme: Scheme

    @classmethod
    def parse(cls, text: str) -> HostRule:
        if not isinstance(text, str) or len(text) > MAX_HOST_CHARS + 16:
            raise HostRuleError(f"host rule {str(text)[:80]!r} is not a host name of at most {MAX_HOST_CHARS} characters")
        match = _RULE.fullmatch(text.strip().lower())
        if match is None:
            raise HostRuleError(f"host rule {text!r} must look like 'api.example.com', '*.example.com', 'api.example.com:8443' or 'http://example.com'")
        scheme = Scheme(match["scheme"] or "https")
        host = match["host"]
        name = host.removeprefix("*.")
        if not _NAME.fullmatch(name) or len(name) > MAX_HOST_CHARS or name.replace(".", "").isdigit():
            raise HostRuleError(
                f"host rule {text!r}: {host!r} is not a fully qualified DNS name such as 'api.example.com' (IP addresses and "
                "single-label names are not rules: declare the name, and the platform resolves it and checks the address)"
            )
        port = int(match["port"]) if match["port"] else (443 if scheme is Scheme.HTTPS else 80)
        if not 1 <= port <= 65535:
            raise HostRuleError(f"host rule {text!r}: port {port} is not between 1 and 65535")
        return cls(host=host, port=port, scheme=scheme)

    def matches(self, scheme: Scheme, host: str, port: int) -> bool:
        if scheme is not self.scheme or port != self.port:
            return False
        host = host.lower()
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host

    def within(self, ceiling: HostRule) -> bool:
        """Whether every (scheme, host, port) this rule allows, `ceiling` allows too."""
        if self.host.startswith("*."):
            same_port = ceiling.scheme is self.scheme and ceiling.port == self.port
            return same_port and ceiling.host.startswith("*.") and self.host.endswith(ceiling.host[1:])
        return ceiling.matches(self.scheme, self.host, self.port)

    def __str__(self) -> str:
        default = 443 if self.scheme is Scheme.HTTPS else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{'http://' if self.scheme is Scheme.HTTP else ''}{self.host}{port}"


def parse_rules(texts: list[str], where: str) -> tuple[HostRule, ...]:
    """A list of rules (at most MAX_RULES); errors name `where` they were written."""
    if not isinstance(texts, list) or len(texts) > MAX_RULES:
        raise HostRuleError(f"{where} must be a list of at most {MAX_RULES} host names")
    rules: list[HostRule] = []
    for text in texts:
        try:
            rules.append(HostRule.parse(text))
        except HostRuleError as exc:
            raise HostRuleError(f"{where}: {exc}") from None
    return tuple(dict.fromkeys(rules))


@dataclass(frozen=True)
class Ceiling:
    """The hosts an installation permits at all (the operator's config). `"*"` permits any
    public HTTPS host on 443 (addresses are still checked); an empty ceiling permits none."""

    rules: tuple[HostRule, ...]
    any_https: bool = False

    @classmethod
    def parse(cls, texts: list[str]) -> Ceiling:
        any_https = "*" in texts
        return cls(rules=parse_rules([t for t in texts if t != "*"], "egress.allow_hosts"), any_https=any_https)

    def permits(self, rule: HostRule) -> bool:
        if self.any_https and rule.scheme is Scheme.HTTPS and rule.port == 443:
            return True
        return any(rule.within(ceiling) for ceiling in self.rules)

    def refused(self, rules: tuple[HostRule, ...]) -> list[HostRule]:
        return [rule for rule in rules if not self.permits(rule)]
