"""EVM message signing for a session (SDK `sign_message`): validate, then ask the signer,
whose policy decides (EIP-191 only where allowed, EIP-712 only for listed domains)."""

from __future__ import annotations

import grpc

from corral import bounded_json
from corral.networks import NetworkKind
from corral.v1 import runtime_pb2, signer_pb2
from orchestrator.actions.signer_client import SignerClient, signer_refusal
from orchestrator.errors import invalid
from orchestrator.store import SessionRow

# Messages for a signature are small; the signer's own bounds are 256 KiB of typed data and,
# by policy, at most 64 KiB of EIP-191 text.
MAX_TYPED_DATA_BYTES = 64 * 1024
MAX_EIP191_BYTES = 64 * 1024


def validate(session: SessionRow, request: runtime_pb2.SignMessageRequest) -> None:
    if session.agent.wallet_type != NetworkKind.EVM:
        raise invalid("sign_message signs EVM messages; this session's wallet is not an EVM wallet")
    kind = request.WhichOneof("message")
    if kind is None:
        raise invalid("give eip191_text or eip712_json")
    if kind == "eip191_text" and len(request.eip191_text.encode()) > MAX_EIP191_BYTES:
        raise invalid(f"eip191 messages are at most {MAX_EIP191_BYTES} bytes")
    if kind == "eip712_json":
        typed = typed_data(request)
        if not isinstance(typed, dict) or not {"domain", "types", "primaryType", "message"} <= typed.keys():
            raise invalid("eip712 data must be an object with domain, types, primaryType and message")


def typed_data(request: runtime_pb2.SignMessageRequest) -> object:
    """The EIP-712 JSON, parsed within bounds (a deeply nested document would overflow the C
    parser's stack and take the orchestrator down)."""
    try:
        return bounded_json.loads(request.eip712_json, max_bytes=MAX_TYPED_DATA_BYTES)
    except bounded_json.JsonTooLarge as exc:
        raise invalid(f"eip712 data is too large: {exc}") from None
    except ValueError as exc:
        raise invalid(f"eip712 data is not JSON: {exc}") from None


def describe(request: runtime_pb2.SignMessageRequest) -> dict:
    """What a user approving this message is shown."""
    if request.WhichOneof("message") == "eip191_text":
        return {"messageType": "eip191", "chainId": request.chain_id, "message": request.eip191_text}
    typed = typed_data(request)
    return {"messageType": "eip712", "chainId": request.chain_id, "domain": typed["domain"], "primaryType": typed["primaryType"],
            "message": typed["message"]}


async def sign(signer: SignerClient, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignMessageRequest
               ) -> runtime_pb2.SignMessageResponse:
    validate(session, request)
    wire = signer_pb2.SignEvmMessageRequest(
        wallet_address=session.wallet_address,
        context=signer_pb2.SigningContext(request_id=request.request_id, session_id=session.id, execution_id=execution_id or 0),
    )
    if request.WhichOneof("message") == "eip191_text":
        wire.eip191.message = request.eip191_text.encode()
    else:
        wire.eip712.typed_data_json = request.eip712_json
    try:
        signed = await signer.sign_evm_message(wire)
    except grpc.aio.AioRpcError as exc:
        raise signer_refusal(exc) from None
    return runtime_pb2.SignMessageResponse(v=signed.v, r=signed.r, s=signed.s, formatted_signature=signed.signature)
