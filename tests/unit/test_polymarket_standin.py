"""The Conditional Tokens contract (contracts/ConditionalTokens.sol) on anvil, and the
Polymarket stand-in (tests/standins/polymarket.py) in the wire formats of Polymarket's
CLOB, py-clob-client and the data API. anvil comes with scripts/setup: missing, it fails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from devtools import contracts
from devtools.devstack import find_anvil, free_port
from signer import polymarket
from tests.standins.polymarket import Market, PolymarketStandIn

CHAIN_ID = 31337
USDC = 10**6
ZERO = "0x" + "00" * 20
ZERO_BYTES32 = b"\x00" * 32
EXCHANGE = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"  # Polymarket's CTF Exchange; the stand-in never calls it


@pytest.fixture(scope="module")
def web3():
    port = free_port()
    process = subprocess.Popen([find_anvil(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(CHAIN_ID)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        client = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 30
        while not _answers(client):
            assert process.poll() is None and time.monotonic() < deadline, "anvil did not come up"
            time.sleep(0.1)
        yield client
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _answers(client: Web3) -> bool:
    try:
        return client.eth.chain_id == CHAIN_ID
    except Exception:
        return False


@pytest.fixture(scope="module")
def chain(web3):
    """USDC (a TestToken with 6 decimals) and ConditionalTokens; accounts[1] is the oracle."""
    deployer = web3.eth.accounts[0]
    usdc = contracts.at(web3, "TestToken", contracts.deploy(web3, "TestToken", "USD Coin", "USDC", 6))
    ctf = contracts.at(web3, "ConditionalTokens", contracts.deploy(web3, "ConditionalTokens"))
    return SimpleNamespace(web3=web3, usdc=usdc, ctf=ctf, deployer=deployer, oracle=web3.eth.accounts[1])


def transact(chain, function, sender: str):
    receipt = chain.web3.eth.wait_for_transaction_receipt(function.transact({"from": sender}), timeout=30)
    assert receipt.status == 1
    return receipt


def send_signed(chain, function, account):
    """A transaction from a key that anvil does not hold, signed here as a wallet would."""
    tx = function.build_transaction({"from": account.address, "nonce": chain.web3.eth.get_transaction_count(account.address),
                                     "chainId": CHAIN_ID})
    raw = account.sign_transaction(tx).raw_transaction
    receipt = chain.web3.eth.wait_for_transaction_receipt(chain.web3.eth.send_raw_transaction(raw), timeout=30)
    assert receipt.status == 1
    return receipt


def funded_account(chain, usdc: int = 0):
    account = Account.create()
    transact(chain, chain.usdc.functions.mint(account.address, usdc), chain.deployer)
    chain.web3.eth.wait_for_transaction_receipt(
        chain.web3.eth.send_transaction({"from": chain.deployer, "to": account.address, "value": 10**18}), timeout=30)
    return account


def prepare_market(chain, question: str) -> Market:
    question_id = Web3.keccak(text=question)
    transact(chain, chain.ctf.functions.prepareCondition(chain.oracle, question_id, 2), chain.deployer)
    condition_id = chain.ctf.functions.getConditionId(chain.oracle, question_id, 2).call()
    token_ids = []
    for index_set in (1, 2):
        collection = chain.ctf.functions.getCollectionId(ZERO_BYTES32, condition_id, index_set).call()
        token_ids.append(chain.ctf.functions.getPositionId(chain.usdc.address, collection).call())
    return Market(condition_id="0x" + condition_id.hex(), question_id="0x" + question_id.hex(), question=question,
                  token_ids=tuple(token_ids), slug=question.lower().replace(" ", "-").strip("?"))


def split(chain, account, market: Market, amount: int) -> None:
    send_signed(chain, chain.usdc.functions.approve(chain.ctf.address, amount), account)
    send_signed(chain, chain.ctf.functions.splitPosition(chain.usdc.address, ZERO_BYTES32, market.condition_id, [1, 2], amount), account)


def balance(chain, owner: str, token_id: int) -> int:
    return chain.ctf.functions.balanceOf(owner, token_id).call()


@pytest.fixture
def standin(chain):
    with PolymarketStandIn(chain.web3.provider.endpoint_uri, CHAIN_ID, EXCHANGE, chain.ctf.address, chain.usdc.address) as server:
        yield server


def call(method: str, url: str, headers: dict | None = None, body: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, data=None if body is None else body.encode(), method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def positions(standin, user: str, **query) -> list[dict]:
    params = "&".join(f"{key}={value}" for key, value in {"user": user, **query}.items())
    status, items = call("GET", f"{standin.url}/positions?{params}")
    assert status == 200, items
    return items


# -- the contract -----------------------------------------------------------------------


def test_split_transfer_resolve_and_redeem(chain, standin):
    market = prepare_market(chain, "Will it rain tomorrow?")
    yes, no = market.token_ids
    standin.add_market(market)
    standin.set_book(yes, bids=[("0.60", "50")], asks=[("0.62", "50")])
    # Ids as the header comment of the contract states (not mainnet's alt_bn128 collection ids).
    assert market.condition_id == Web3.solidity_keccak(["address", "bytes32", "uint256"],
                                                       [chain.oracle, market.question_id, 2]).to_0x_hex()
    collection = Web3.solidity_keccak(["bytes32", "bytes32", "uint256"], [ZERO_BYTES32, market.condition_id, 1])
    assert yes == int.from_bytes(Web3.solidity_keccak(["address", "bytes32"], [chain.usdc.address, collection]), "big")
    assert chain.ctf.functions.getOutcomeSlotCount(market.condition_id).call() == 2

    trader, winner = funded_account(chain, 100 * USDC), funded_account(chain)
    split(chain, trader, market, 100 * USDC)
    assert [balance(chain, trader.address, token) for token in (yes, no)] == [100 * USDC, 100 * USDC]
    assert chain.usdc.functions.balanceOf(trader.address).call() == 0
    assert chain.usdc.functions.balanceOf(chain.ctf.address).call() >= 100 * USDC

    send_signed(chain, chain.ctf.functions.safeTransferFrom(trader.address, winner.address, yes, 100 * USDC, b""), trader)
    assert balance(chain, winner.address, yes) == 100 * USDC and balance(chain, trader.address, yes) == 0
    [held] = positions(standin, winner.address)
    assert held["asset"] == str(yes) and held["size"] == 100.0 and held["redeemable"] is False
    assert held["curPrice"] == 0.61 and held["outcome"] == "Yes" and held["oppositeAsset"] == str(no)
    assert held["proxyWallet"] == winner.address and held["conditionId"] == market.condition_id

    with pytest.raises(ContractLogicError, match="result for condition not received yet"):
        chain.ctf.functions.redeemPositions(chain.usdc.address, ZERO_BYTES32, market.condition_id, [1]).call({"from": winner.address})
    with pytest.raises(ContractLogicError, match="condition not prepared or found"):  # only the oracle can report
        chain.ctf.functions.reportPayouts(market.question_id, [1, 0]).call({"from": chain.deployer})
    transact(chain, chain.ctf.functions.reportPayouts(market.question_id, [1, 0]), chain.oracle)
    assert chain.ctf.functions.payoutDenominator(market.condition_id).call() == 1
    assert chain.ctf.functions.payoutNumerators(market.condition_id, 0).call() == 1

    [won] = positions(standin, winner.address, redeemable="true")
    assert won["size"] == 100.0 and won["redeemable"] is True and won["curPrice"] == 1.0
    [lost] = positions(standin, trader.address)
    assert lost["asset"] == str(no) and lost["curPrice"] == 0.0 and lost["redeemable"] is True
    assert positions(standin, trader.address, redeemable="false") == []

    receipt = send_signed(chain, chain.ctf.functions.redeemPositions(chain.usdc.address, ZERO_BYTES32, market.condition_id, [1, 2]), winner)
    [event] = chain.ctf.events.PayoutRedemption().process_receipt(receipt, errors=DISCARD)  # USDC logs too
    assert event.args.redeemer == winner.address and event.args.payout == 100 * USDC and event.args.indexSets == [1, 2]
    assert chain.usdc.functions.balanceOf(winner.address).call() == 100 * USDC
    assert balance(chain, winner.address, yes) == 0
    assert positions(standin, winner.address) == []
    # The losing side redeems for nothing, and is burnt all the same.
    send_signed(chain, chain.ctf.functions.redeemPositions(chain.usdc.address, ZERO_BYTES32, market.condition_id, [2]), trader)
    assert balance(chain, trader.address, no) == 0 and chain.usdc.functions.balanceOf(trader.address).call() == 0


def test_merge_returns_collateral_and_nested_positions_are_refused(chain):
    market = prepare_market(chain, "Will the merge work?")
    trader = funded_account(chain, 10 * USDC)
    split(chain, trader, market, 10 * USDC)
    merge = chain.ctf.functions.mergePositions(chain.usdc.address, ZERO_BYTES32, market.condition_id, [1, 2], 4 * USDC)
    send_signed(chain, merge, trader)
    assert chain.usdc.functions.balanceOf(trader.address).call() == 4 * USDC
    assert [balance(chain, trader.address, token) for token in market.token_ids] == [6 * USDC, 6 * USDC]
    nested = b"\x01" * 32
    with pytest.raises(ContractLogicError, match="nested positions are not supported"):
        chain.ctf.functions.splitPosition(chain.usdc.address, nested, market.condition_id, [1, 2], 1).call({"from": trader.address})
    with pytest.raises(ContractLogicError, match="partition not disjoint"):
        chain.ctf.functions.splitPosition(chain.usdc.address, ZERO_BYTES32, market.condition_id, [1, 1], 1).call({"from": trader.address})


def test_erc1155_transfers_check_contract_recipients_and_approvals(chain):
    market = prepare_market(chain, "Will tokens reach contracts?")
    yes, no = market.token_ids
    trader, operator = funded_account(chain, 5 * USDC), funded_account(chain)
    split(chain, trader, market, 5 * USDC)
    # TestToken has no onERC1155Received: a contract recipient must accept, an EOA need not.
    transfer = chain.ctf.functions.safeTransferFrom(trader.address, chain.usdc.address, yes, 1, b"")
    with pytest.raises(ContractLogicError, match="non ERC1155Receiver implementer"):
        transfer.call({"from": trader.address})
    move = chain.ctf.functions.safeBatchTransferFrom(trader.address, operator.address, [yes, no], [1, 2], b"")
    with pytest.raises(ContractLogicError, match="caller is not owner nor approved"):
        move.call({"from": operator.address})
    send_signed(chain, chain.ctf.functions.setApprovalForAll(operator.address, True), trader)
    assert chain.ctf.functions.isApprovedForAll(trader.address, operator.address).call()
    send_signed(chain, move, operator)
    assert chain.ctf.functions.balanceOfBatch([operator.address] * 2, [yes, no]).call() == [1, 2]


# -- the CLOB ---------------------------------------------------------------------------


def clob_auth_headers(account, nonce: int = 0, signer=None) -> dict:
    """py-clob-client's create_level_1_headers, written out with eth_account."""
    timestamp = str(int(time.time()))
    typed_data = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}],
            "ClobAuth": [{"name": "address", "type": "address"}, {"name": "timestamp", "type": "string"},
                         {"name": "nonce", "type": "uint256"}, {"name": "message", "type": "string"}],
        },
        "primaryType": "ClobAuth",
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": CHAIN_ID},
        "message": {"address": account.address, "timestamp": timestamp, "nonce": nonce,
                    "message": "This message attests that I control the given wallet"},
    }
    signature = Account.sign_message(encode_typed_data(full_message=typed_data), (signer or account).key).signature
    return {"POLY_ADDRESS": account.address, "POLY_SIGNATURE": "0x" + bytes(signature).hex(),
            "POLY_TIMESTAMP": timestamp, "POLY_NONCE": str(nonce)}


def hmac_signature(secret: str, message: str) -> str:
    """py-clob-client's build_hmac_signature."""
    return base64.urlsafe_b64encode(hmac.new(base64.urlsafe_b64decode(secret), message.encode(), hashlib.sha256).digest()).decode()


def signed_order(account, token_id: int, side: str, maker_amount: int, taker_amount: int, fee_rate_bps: int = 0) -> dict:
    """An order signed by the signer's own code, in py-order-utils' SignedOrder.dict() shape."""
    message = {"salt": secrets.randbelow(2**32), "maker": account.address, "signer": account.address, "taker": ZERO,
               "tokenId": token_id, "makerAmount": maker_amount, "takerAmount": taker_amount, "expiration": 0, "nonce": 0,
               "feeRateBps": fee_rate_bps, "side": polymarket.BUY if side == "BUY" else polymarket.SELL, "signatureType": 0}
    signed = polymarket.sign(keys.PrivateKey(bytes(account.key)), polymarket.PolymarketOrder(CHAIN_ID, EXCHANGE, message))
    wire = {name: str(value) if name in ("tokenId", "makerAmount", "takerAmount", "expiration", "nonce", "feeRateBps") else value
            for name, value in message.items()}
    return {**wire, "side": side, "signature": signed.signature}


def post_order(standin, account, creds: dict, order: dict, order_type: str = "FOK", legacy: bool = False,
               secret: str | None = None) -> tuple[int, dict]:
    """POST /order as py-clob-client sends it: current releases sign and send the same compact
    JSON; old ones signed str(body) with quotes swapped and sent requests' json.dumps."""
    body = {"order": order, "owner": creds["apiKey"], "orderType": order_type}
    wire = json.dumps(body) if legacy else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    signed_text = str(body).replace("'", '"') if legacy else wire
    timestamp = str(int(time.time()))
    headers = {"POLY_ADDRESS": account.address, "POLY_TIMESTAMP": timestamp, "POLY_API_KEY": creds["apiKey"],
               "POLY_PASSPHRASE": creds["passphrase"],
               "POLY_SIGNATURE": hmac_signature(secret or creds["secret"], timestamp + "POST" + "/order" + signed_text)}
    return call("POST", f"{standin.url}/order", headers, wire)


def api_creds(standin, account) -> dict:
    status, creds = call("GET", f"{standin.url}/auth/derive-api-key", clob_auth_headers(account))
    assert status == 200, creds
    return creds


def test_market_data_endpoints(chain, standin):
    market = prepare_market(chain, "Will the book be served?")
    yes, no = market.token_ids
    standin.add_market(market)
    standin.set_book(yes, bids=[("0.48", "10"), ("0.50", "20")], asks=[("0.55", "30"), ("0.53", "40")])
    status, book = call("GET", f"{standin.url}/book?token_id={yes}")
    assert status == 200
    assert book["market"] == market.condition_id and book["asset_id"] == str(yes)
    # Best last on both sides, as the CLOB lists them.
    assert book["bids"] == [{"price": "0.48", "size": "10"}, {"price": "0.5", "size": "20"}]
    assert book["asks"] == [{"price": "0.55", "size": "30"}, {"price": "0.53", "size": "40"}]
    assert book["tick_size"] == "0.01" and book["neg_risk"] is False and book["hash"] and book["timestamp"].isdigit()
    assert call("GET", f"{standin.url}/book?token_id={no}")[1]["bids"] == []
    assert call("GET", f"{standin.url}/tick-size?token_id={yes}") == (200, {"minimum_tick_size": 0.01})
    assert call("GET", f"{standin.url}/neg-risk?token_id={yes}") == (200, {"neg_risk": False})
    assert call("GET", f"{standin.url}/fee-rate?token_id={yes}") == (200, {"base_fee": 0})
    status, answer = call("GET", f"{standin.url}/book?token_id=12345")
    assert status == 404 and "error" in answer


def test_l1_authentication_derives_api_credentials(standin):
    account = Account.create()
    creds = api_creds(standin, account)
    assert set(creds) == {"apiKey", "secret", "passphrase"}
    assert api_creds(standin, account) == creds  # deterministic per (address, nonce)
    status, created = call("POST", f"{standin.url}/auth/api-key", clob_auth_headers(account))
    assert status == 200 and created == creds
    status, other = call("GET", f"{standin.url}/auth/derive-api-key", clob_auth_headers(account, nonce=1))
    assert status == 200 and other["apiKey"] != creds["apiKey"]
    # Signed by another key than POLY_ADDRESS claims.
    status, answer = call("GET", f"{standin.url}/auth/derive-api-key", clob_auth_headers(account, signer=Account.create()))
    assert status == 401 and "error" in answer


def test_fok_buy_fills_against_the_book_or_is_killed(chain, standin):
    market = prepare_market(chain, "Will FOK orders fill?")
    yes, _ = market.token_ids
    standin.add_market(market)
    standin.set_book(yes, bids=[("0.45", "100")], asks=[("0.50", "100"), ("0.55", "100")])
    buyer = Account.create()
    creds = api_creds(standin, buyer)

    # 75 USDC at up to 0.55: 100 shares at 0.50, then 25 USDC of shares at 0.55.
    order = signed_order(buyer, yes, "BUY", 75 * USDC, 75 * USDC * 100 // 55)
    status, answer = post_order(standin, buyer, creds, order)
    assert status == 200, answer
    assert answer["success"] is True and answer["errorMsg"] == "" and answer["status"] == "matched"
    assert answer["makingAmount"] == "75" and answer["takingAmount"] == "145.454545"
    assert answer["orderID"].startswith("0x") and len(answer["orderID"]) == 66 and len(answer["transactionsHashes"]) == 1
    assert standin.orders == [json.loads(json.dumps({"order": order, "owner": creds["apiKey"], "orderType": "FOK"}))]
    assert call("GET", f"{standin.url}/book?token_id={yes}")[1]["asks"] == [{"price": "0.55", "size": "54.545455"}]
    # Posted again, the same signed order is a duplicate.
    assert post_order(standin, buyer, creds, order)[0] == 400

    [held] = positions(standin, buyer.address)
    assert held["size"] == 145.454545 and held["totalBought"] == 145.454545 and held["curPrice"] == 0.5
    assert held["avgPrice"] == pytest.approx(75 / 145.454545, abs=1e-6) and held["mergeable"] is False

    # 40 USDC more at up to 0.55: only ~30 USDC of asks remain there.
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", 40 * USDC, 40 * USDC * 100 // 55))
    assert status == 400 and answer["success"] is False
    assert answer["errorMsg"] == "order couldn't be fully filled. FOK orders are fully filled or killed."
    assert call("GET", f"{standin.url}/book?token_id={yes}")[1]["asks"] == [{"price": "0.55", "size": "54.545455"}]
    assert len(standin.orders) == 1 and len(standin.order_requests) == 3

    # The old py-clob-client's serialisation authenticates as well.
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", 5 * USDC, 5 * USDC * 100 // 55), legacy=True)
    assert status == 200 and answer["takingAmount"] == "9.090909"


def test_fok_sell_of_shares_held_on_chain(chain, standin):
    market = prepare_market(chain, "Will sells fill?")
    yes, no = market.token_ids
    standin.add_market(market)
    standin.set_book(yes, bids=[("0.58", "100"), ("0.60", "5")], asks=[])
    seller = funded_account(chain, 10 * USDC)
    split(chain, seller, market, 10 * USDC)
    creds = api_creds(standin, seller)
    status, answer = post_order(standin, seller, creds, signed_order(seller, yes, "SELL", 8 * USDC, 8 * 58 * USDC // 100))
    assert status == 200, answer
    assert answer["makingAmount"] == "8" and answer["takingAmount"] == "4.74"  # 5 at 0.60, 3 at 0.58
    sizes = {item["asset"]: item for item in positions(standin, seller.address)}
    assert sizes[str(yes)]["size"] == 2.0 and sizes[str(no)]["size"] == 10.0 and sizes[str(yes)]["mergeable"] is True
    status, answer = post_order(standin, seller, creds, signed_order(seller, yes, "SELL", 5 * USDC, 2 * USDC))
    assert status == 400 and answer["errorMsg"] == "not enough balance / allowance"


def test_orders_are_refused_without_valid_credentials_or_signature(chain, standin):
    market = prepare_market(chain, "Will forgeries be refused?")
    yes, _ = market.token_ids
    standin.add_market(market)
    standin.set_book(yes, bids=[], asks=[("0.50", "1000")])
    buyer, stranger = Account.create(), Account.create()
    creds = api_creds(standin, buyer)

    wrong_secret = api_creds(standin, stranger)["secret"]
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", USDC, 2 * USDC), secret=wrong_secret)
    assert (status, answer) == (401, {"error": "Unauthorized/Invalid api key"})
    status, answer = post_order(standin, buyer, {**creds, "passphrase": "0" * 32}, signed_order(buyer, yes, "BUY", USDC, 2 * USDC))
    assert status == 401

    forged = {**signed_order(buyer, yes, "BUY", USDC, 2 * USDC), "makerAmount": str(2 * USDC)}  # changed after signing
    status, answer = post_order(standin, buyer, creds, forged)
    assert status == 400 and answer == {"success": False, "errorMsg": "invalid signature", "error": "invalid signature"}
    # Signed by a stranger's key, posted with the buyer's credentials.
    status, answer = post_order(standin, buyer, creds, signed_order(stranger, yes, "BUY", USDC, 2 * USDC))
    assert status == 400 and "owner" in answer["errorMsg"]
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", USDC, 2 * USDC, fee_rate_bps=100))
    assert status == 400 and "fee rate" in answer["errorMsg"]
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, 12345, "BUY", USDC, 2 * USDC))
    assert status == 400 and "token" in answer["errorMsg"]
    assert standin.orders == [] and len(standin.order_requests) == 6


def test_fak_fills_what_it_can_and_gtc_remainders_are_live(chain, standin):
    market = prepare_market(chain, "Will partial fills work?")
    yes, _ = market.token_ids
    standin.add_market(market)
    standin.set_book(yes, bids=[], asks=[("0.50", "10")])
    buyer = Account.create()
    creds = api_creds(standin, buyer)
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", 10 * USDC, 20 * USDC), order_type="FAK")
    assert status == 200 and (answer["makingAmount"], answer["takingAmount"]) == ("5", "10")
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", 10 * USDC, 20 * USDC), order_type="FAK")
    assert status == 400 and answer["errorMsg"].startswith("no orders found to match with FAK order")
    status, answer = post_order(standin, buyer, creds, signed_order(buyer, yes, "BUY", 10 * USDC, 20 * USDC), order_type="GTC")
    assert status == 200 and answer["status"] == "live" and answer["transactionsHashes"] == []
    assert positions(standin, buyer.address)[0]["size"] == 10.0
