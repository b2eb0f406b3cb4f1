"""A session's summary for a console: positions with token decimals and symbols, fees paid per
network, realised PnL in the starting asset, and USD where the owner configured a price.

realised PnL = what the session holds of its starting asset now − its allocation (smallest
unit). Its holding is its allocation plus what its own settled transactions moved of that
asset, less their fees when the starting asset is the native coin: so a trade out and back
counts once it is back, and what is still held in other assets is listed, not valued (no
price is assumed for it). USD values are the amount ÷ 10^decimals × the owner's price;
without a price source or without decimals there is none.

Token info is read from the chain once per (network, token) and kept in `token_info`
(orchestrator/chains/token_info.py says what is trusted of it); a token whose contract gave no
usable answer is read again after UNKNOWN_RETRY, one whose node did not answer next time.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Context, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from corral.networks import NATIVE_EVM, NATIVE_SOLANA, address_key, is_solana, native_asset
from corral.v1 import orchestrator_pb2
from orchestrator.actions.balances import LANDED, fee_paid
from orchestrator.actions.positions import session_positions
from orchestrator.chains import Chain
from orchestrator.chains.token_info import TokenInfo, read_token_info
from orchestrator.sessions.prices import Key, PriceBook
from orchestrator.store import Database, SessionRow, TokenInfoRow, TransactionRow, utcnow

log = logging.getLogger("corral.summary")
UNKNOWN_RETRY = timedelta(hours=1)
# Native coins' decimals are the chain's own, not a contract's answer.
NATIVE_INFO = {NATIVE_EVM: TokenInfo(decimals=18, symbol=None), NATIVE_SOLANA: TokenInfo(decimals=9, symbol=None)}


def fees_by_network(db: Session, session_id: int) -> dict[str, int]:
    """The fees the session's landed transactions paid, per network (smallest unit of its native coin)."""
    rows = db.execute(select(TransactionRow.network, TransactionRow.status, TransactionRow.gas_used, TransactionRow.effective_gas_price)
                      .where(TransactionRow.session_id == session_id, TransactionRow.status.in_(list(LANDED))))
    fees: dict[str, int] = defaultdict(int)
    for network, status, gas_used, price in rows:
        fees[network] += fee_paid(status, gas_used, price)
    return dict(fees)


def _cached(db: Session, keys: list[Key]) -> dict[Key, TokenInfo]:
    """Token info kept for `keys`, leaving out unknowns due for another read."""
    found: dict[Key, TokenInfo] = {}
    due = utcnow() - UNKNOWN_RETRY
    for network in {network for network, _ in keys}:
        tokens = [token for n, token in keys if n == network]
        for row in db.scalars(select(TokenInfoRow).where(TokenInfoRow.network == network, TokenInfoRow.token_key.in_(tokens))):
            complete = row.decimals is not None and (row.symbol is not None or is_solana(network))  # a mint may have no metadata account
            if complete or row.read_at > due:
                found[(network, row.token_key)] = TokenInfo(row.decimals, row.symbol)
    return found


def _keep(db: Session, read: dict[Key, TokenInfo]) -> None:
    now = utcnow()
    for (network, token), info in read.items():
        row = db.scalar(select(TokenInfoRow).where(TokenInfoRow.network == network, TokenInfoRow.token_key == token))
        if row is None:
            db.add(TokenInfoRow(network=network, token_key=token, decimals=info.decimals, symbol=info.symbol, read_at=now))
        else:
            row.decimals, row.symbol, row.read_at = info.decimals, info.symbol, now
    try:
        db.commit()
    except IntegrityError:  # another summary (another replica) kept the same token first: its answer is the chain's too
        db.rollback()


async def token_infos(db: Database, chains: dict[str, Chain], keys: list[Key]) -> dict[Key, TokenInfo]:
    """Decimals and symbols of `keys`: native coins' own, the rest from the cache or the chain."""
    infos = {key: NATIVE_INFO[key[1]] for key in keys if key[1] == address_key(key[0], native_asset(key[0])) and key[1] in NATIVE_INFO}
    tokens = [key for key in dict.fromkeys(keys) if key not in infos]
    infos.update(await db.run(lambda s: _cached(s, tokens)))
    missing: dict[str, list[str]] = defaultdict(list)
    for network, token in tokens:
        if (network, token) not in infos and network in chains:
            missing[network].append(token)
    read: dict[Key, TokenInfo] = {}
    for network, wanted in missing.items():
        try:
            answers = await read_token_info(chains[network], wanted)
        except OSError as exc:  # the node did not answer: shown without, read again next time
            log.warning("token info on %s could not be read: %s", network, exc)
            continue
        read.update({(network, token): info for token, info in answers.items()})
    if read:
        await db.run(lambda s: _keep(s, read))
    infos.update(read)
    return infos


def _token_message(info: TokenInfo | None) -> orchestrator_pb2.TokenInfo:
    message = orchestrator_pb2.TokenInfo()
    if info is not None and info.decimals is not None:
        message.decimals = info.decimals
    if info is not None and info.symbol is not None:
        message.symbol = info.symbol
    return message


# Enough digits for any uint256 amount times any configured price, exactly.
_EXACT = Context(prec=200)


def _usd(amount: int, info: TokenInfo | None, price: Decimal | None) -> Decimal | None:
    if price is None or info is None or info.decimals is None:
        return None
    return _EXACT.divide(_EXACT.multiply(Decimal(amount), price), Decimal(10) ** info.decimals)


def _shown(value: Decimal) -> str:
    """A USD amount as a plain decimal string (no exponent), to the cent's hundredth."""
    return f"{value.quantize(Decimal('0.0001'), context=_EXACT):f}"


async def session_summary(db: Database, chains: dict[str, Chain], prices: PriceBook, session: SessionRow) -> orchestrator_pb2.SessionSummary:
    positions, pending, fees = await db.run(lambda s: (*session_positions(s, session), fees_by_network(s, session.id)))
    held = [((p.network, address_key(p.network, p.asset_address)), p) for p in positions]
    fee_keys = [(network, address_key(network, native_asset(network))) for network in sorted(fees)]
    keys = [key for key, _ in held] + fee_keys
    infos = await token_infos(db, chains, keys)
    usd_prices = await prices.usd(keys)

    summary = orchestrator_pb2.SessionSummary(
        session_id=session.id, has_pending_transactions=pending, allocation=session.allocation_amount,
        starting_asset=orchestrator_pb2.PositionRef(network=session.allocation_network, asset_address=session.allocation_asset),
    )
    values: list[Decimal | None] = []
    for key, position in held:
        amount, info, price = int(position.current_qty), infos.get(key), usd_prices.get(key)
        line = summary.positions.add(network=position.network, asset_address=position.asset_address, amount=str(amount),
                                     token=_token_message(info))
        value = _usd(amount, info, price)
        values.append(value)
        if value is not None and price is not None:
            line.usd_price, line.usd_value = f"{price.normalize(_EXACT):f}", _shown(value)
    for key in fee_keys:
        amount = fees[key[0]]
        line = summary.fees.add(network=key[0], asset_address=native_asset(key[0]), amount=str(amount), token=_token_message(infos.get(key)))
        if (value := _usd(amount, infos.get(key), usd_prices.get(key))) is not None:
            line.usd_value = _shown(value)
    if values and all(v is not None for v in values):
        total = Decimal(0)
        for value in values:
            total = _EXACT.add(total, value or 0)
        summary.positions_usd_value = _shown(total)
    start_key, start = held[0]
    pnl = int(start.current_qty) - int(session.allocation_amount)
    summary.realised_pnl = str(pnl)
    if (pnl_usd := _usd(pnl, infos.get(start_key), usd_prices.get(start_key))) is not None:
        summary.realised_pnl_usd = _shown(pnl_usd)
    return summary
