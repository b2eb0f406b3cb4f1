"""A session's plain environment settings: variables its agent's process starts with
(`API_BASE=https://…`, `LOG_FORMAT=json`), for libraries that read `os.environ`.

Not for secrets (they are shown in the API and stored in clear: secrets go through
SetSessionSecret, and reach only their host). Checked at StartSession: names a platform
variable uses (the proxies, the CA bundles, CORRAL_*, PYTHON*, LD_*, PATH, HOME) are refused,
so a setting can never turn the egress path or the interpreter against the agent or the host.
"""

from __future__ import annotations

import re

from orchestrator.errors import invalid

MAX_VARIABLES = 32
MAX_VALUE_CHARS = 1024
_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_RESERVED = {
    "PATH", "HOME", "HOSTNAME", "PWD", "SHELL", "USER", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
}
_RESERVED_PREFIXES = ("CORRAL_", "PYTHON", "LD_", "GCONV_", "MALLOC_", "GLIBC_")


def checked_environment(environment: dict[str, str]) -> dict[str, str]:
    """`environment` if every variable may be set; else INVALID_ARGUMENT naming the first that may not."""
    if len(environment) > MAX_VARIABLES:
        raise invalid(f"environment has {len(environment)} variables; at most {MAX_VARIABLES}")
    for name, value in environment.items():
        shown = name[:70]
        if not _NAME.fullmatch(name):
            raise invalid(f"environment variable {shown!r}: a name is upper-case letters, digits and '_' (at most 64), e.g. API_BASE")
        if name.upper() in _RESERVED or name.upper().startswith(_RESERVED_PREFIXES):
            raise invalid(f"environment variable {name}: the platform sets it; choose another name")
        if len(value) > MAX_VALUE_CHARS or not value.isprintable():
            raise invalid(f"environment variable {name}: its value must be at most {MAX_VALUE_CHARS} printable characters")
    return dict(environment)
