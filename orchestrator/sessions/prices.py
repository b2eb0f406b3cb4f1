"""USD prices from the owner's `[[prices]]` sources only (a fixed rate, or a number in an
HTTP JSON reply): never a price an agent supplies. A source that cannot be read gives no
price (and a log line), so the summary shows no USD rather than a wrong one."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Context, Decimal, InvalidOperation

import aiohttp

from corral import bounded_json
from corral.networks import address_key
from orchestrator.config import PriceSource

log = logging.getLogger("corral.prices")
# A price endpoint's reply is read up to this many bytes; a longer one gives no price.
MAX_PRICE_REPLY_BYTES = 64 * 1024

# A price an endpoint gives is at most this, kept to 18 decimal places (an answer such as
# "1e999999999" is no price).
MAX_PRICE = Decimal(10) ** 15
PRICE_STEP = Decimal(10) ** -18

Key = tuple[str, str]  # (network, asset key)


def number_at(document: object, path: str) -> Decimal | None:
    """The finite, non-negative number at the dotted `path` of a JSON document; None otherwise."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or not 0 <= number <= MAX_PRICE:
        return None
    return number.quantize(PRICE_STEP, context=Context(prec=60))


class PriceBook:
    def __init__(self, sources: list[PriceSource]) -> None:
        self._sources = {(s.network, address_key(s.network, s.asset)): s for s in sources}
        self._cached: dict[Key, tuple[float, Decimal | None]] = {}

    def has_source(self, key: Key) -> bool:
        return key in self._sources

    async def usd(self, keys: list[Key]) -> dict[Key, Decimal]:
        """The USD price of each of `keys` that has a source and answers; the reads go out together."""
        wanted = [key for key in dict.fromkeys(keys) if key in self._sources]
        prices = await asyncio.gather(*(self._price(key) for key in wanted))
        return {key: price for key, price in zip(wanted, prices, strict=True) if price is not None}

    async def _price(self, key: Key) -> Decimal | None:
        source = self._sources[key]
        if source.usd is not None:
            return Decimal(source.usd)
        cached = self._cached.get(key)
        if cached is not None and time.monotonic() - cached[0] < source.cache_seconds:
            return cached[1]
        price = await _fetch(source)
        self._cached[key] = (time.monotonic(), price)
        return price


async def _fetch(source: PriceSource) -> Decimal | None:
    assert source.url is not None and source.json_path is not None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=source.timeout_seconds)) as http, \
                http.get(source.url, allow_redirects=False) as response:
            body = await response.content.read(MAX_PRICE_REPLY_BYTES + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("price of %s on %s: %s did not answer (%s)", source.asset, source.network, source.url, type(exc).__name__)
        return None
    price = None
    if status == 200 and len(body) <= MAX_PRICE_REPLY_BYTES:
        try:
            price = number_at(bounded_json.loads(body, max_bytes=MAX_PRICE_REPLY_BYTES, max_depth=16), source.json_path)
        except (ValueError, UnicodeDecodeError):
            price = None
    if price is None:
        log.warning("price of %s on %s: %s gave no number at %s (HTTP %s, %d bytes)", source.asset, source.network, source.url,
                    source.json_path, status, len(body))
    return price
