from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WalletType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WALLET_TYPE_UNSPECIFIED: _ClassVar[WalletType]
    WALLET_TYPE_ETHEREUM: _ClassVar[WalletType]
    WALLET_TYPE_SOLANA: _ClassVar[WalletType]
WALLET_TYPE_UNSPECIFIED: WalletType
WALLET_TYPE_ETHEREUM: WalletType
WALLET_TYPE_SOLANA: WalletType

class SignerWallet(_message.Message):
    __slots__ = ("address", "wallet_type", "paper_of")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    WALLET_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAPER_OF_FIELD_NUMBER: _ClassVar[int]
    address: str
    wallet_type: WalletType
    paper_of: str
    def __init__(self, address: _Optional[str] = ..., wallet_type: _Optional[_Union[WalletType, str]] = ..., paper_of: _Optional[str] = ...) -> None: ...

class CreatePaperWalletRequest(_message.Message):
    __slots__ = ("source_wallet_address",)
    SOURCE_WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    source_wallet_address: str
    def __init__(self, source_wallet_address: _Optional[str] = ...) -> None: ...

class CreatePaperWalletResponse(_message.Message):
    __slots__ = ("address", "audit_head")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    address: str
    audit_head: AuditHead
    def __init__(self, address: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class RemovePaperWalletRequest(_message.Message):
    __slots__ = ("wallet_address",)
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    def __init__(self, wallet_address: _Optional[str] = ...) -> None: ...

class RemovePaperWalletResponse(_message.Message):
    __slots__ = ("audit_head",)
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    audit_head: AuditHead
    def __init__(self, audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class ListSignerWalletsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSignerWalletsResponse(_message.Message):
    __slots__ = ("wallets",)
    WALLETS_FIELD_NUMBER: _ClassVar[int]
    wallets: _containers.RepeatedCompositeFieldContainer[SignerWallet]
    def __init__(self, wallets: _Optional[_Iterable[_Union[SignerWallet, _Mapping]]] = ...) -> None: ...

class AuditHead(_message.Message):
    __slots__ = ("seq", "mac")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    seq: int
    mac: str
    def __init__(self, seq: _Optional[int] = ..., mac: _Optional[str] = ...) -> None: ...

class SigningContext(_message.Message):
    __slots__ = ("request_id", "session_id", "execution_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    session_id: int
    execution_id: int
    def __init__(self, request_id: _Optional[str] = ..., session_id: _Optional[int] = ..., execution_id: _Optional[int] = ...) -> None: ...

class Eip1559Fees(_message.Message):
    __slots__ = ("max_fee_per_gas", "max_priority_fee_per_gas")
    MAX_FEE_PER_GAS_FIELD_NUMBER: _ClassVar[int]
    MAX_PRIORITY_FEE_PER_GAS_FIELD_NUMBER: _ClassVar[int]
    max_fee_per_gas: str
    max_priority_fee_per_gas: str
    def __init__(self, max_fee_per_gas: _Optional[str] = ..., max_priority_fee_per_gas: _Optional[str] = ...) -> None: ...

class LegacyFees(_message.Message):
    __slots__ = ("gas_price",)
    GAS_PRICE_FIELD_NUMBER: _ClassVar[int]
    gas_price: str
    def __init__(self, gas_price: _Optional[str] = ...) -> None: ...

class EvmUnsignedTransaction(_message.Message):
    __slots__ = ("chain_id", "nonce", "to", "value", "data", "gas", "eip1559", "legacy")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    GAS_FIELD_NUMBER: _ClassVar[int]
    EIP1559_FIELD_NUMBER: _ClassVar[int]
    LEGACY_FIELD_NUMBER: _ClassVar[int]
    chain_id: int
    nonce: int
    to: str
    value: str
    data: bytes
    gas: int
    eip1559: Eip1559Fees
    legacy: LegacyFees
    def __init__(self, chain_id: _Optional[int] = ..., nonce: _Optional[int] = ..., to: _Optional[str] = ..., value: _Optional[str] = ..., data: _Optional[bytes] = ..., gas: _Optional[int] = ..., eip1559: _Optional[_Union[Eip1559Fees, _Mapping]] = ..., legacy: _Optional[_Union[LegacyFees, _Mapping]] = ...) -> None: ...

class SignEvmTransactionRequest(_message.Message):
    __slots__ = ("wallet_address", "transaction", "context")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    transaction: EvmUnsignedTransaction
    context: SigningContext
    def __init__(self, wallet_address: _Optional[str] = ..., transaction: _Optional[_Union[EvmUnsignedTransaction, _Mapping]] = ..., context: _Optional[_Union[SigningContext, _Mapping]] = ...) -> None: ...

class SignEvmTransactionResponse(_message.Message):
    __slots__ = ("raw_transaction", "transaction_hash", "audit_head")
    RAW_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    raw_transaction: bytes
    transaction_hash: str
    audit_head: AuditHead
    def __init__(self, raw_transaction: _Optional[bytes] = ..., transaction_hash: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class SignEvmTransactionsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SignEvmTransactionRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[SignEvmTransactionRequest, _Mapping]]] = ...) -> None: ...

class SigningRefusal(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class SignEvmTransactionResult(_message.Message):
    __slots__ = ("signed", "refused")
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    signed: SignEvmTransactionResponse
    refused: SigningRefusal
    def __init__(self, signed: _Optional[_Union[SignEvmTransactionResponse, _Mapping]] = ..., refused: _Optional[_Union[SigningRefusal, _Mapping]] = ...) -> None: ...

class SignEvmTransactionsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SignEvmTransactionResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SignEvmTransactionResult, _Mapping]]] = ...) -> None: ...

class Eip191Message(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    def __init__(self, message: _Optional[bytes] = ...) -> None: ...

class Eip712Message(_message.Message):
    __slots__ = ("typed_data_json",)
    TYPED_DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    typed_data_json: str
    def __init__(self, typed_data_json: _Optional[str] = ...) -> None: ...

class SignEvmMessageRequest(_message.Message):
    __slots__ = ("wallet_address", "eip191", "eip712", "context")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EIP191_FIELD_NUMBER: _ClassVar[int]
    EIP712_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    eip191: Eip191Message
    eip712: Eip712Message
    context: SigningContext
    def __init__(self, wallet_address: _Optional[str] = ..., eip191: _Optional[_Union[Eip191Message, _Mapping]] = ..., eip712: _Optional[_Union[Eip712Message, _Mapping]] = ..., context: _Optional[_Union[SigningContext, _Mapping]] = ...) -> None: ...

class SignEvmMessageResponse(_message.Message):
    __slots__ = ("v", "r", "s", "signature", "message_hash", "audit_head")
    V_FIELD_NUMBER: _ClassVar[int]
    R_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_HASH_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    v: int
    r: str
    s: str
    signature: str
    message_hash: str
    audit_head: AuditHead
    def __init__(self, v: _Optional[int] = ..., r: _Optional[str] = ..., s: _Optional[str] = ..., signature: _Optional[str] = ..., message_hash: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class SignSolanaTransactionRequest(_message.Message):
    __slots__ = ("wallet_address", "transaction", "context")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    transaction: bytes
    context: SigningContext
    def __init__(self, wallet_address: _Optional[str] = ..., transaction: _Optional[bytes] = ..., context: _Optional[_Union[SigningContext, _Mapping]] = ...) -> None: ...

class SignHyperliquidActionRequest(_message.Message):
    __slots__ = ("wallet_address", "action_json", "nonce", "vault_address", "expires_after", "mainnet", "context")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ACTION_JSON_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    VAULT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AFTER_FIELD_NUMBER: _ClassVar[int]
    MAINNET_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    action_json: str
    nonce: int
    vault_address: str
    expires_after: int
    mainnet: bool
    context: SigningContext
    def __init__(self, wallet_address: _Optional[str] = ..., action_json: _Optional[str] = ..., nonce: _Optional[int] = ..., vault_address: _Optional[str] = ..., expires_after: _Optional[int] = ..., mainnet: _Optional[bool] = ..., context: _Optional[_Union[SigningContext, _Mapping]] = ...) -> None: ...

class SignHyperliquidActionResponse(_message.Message):
    __slots__ = ("r", "s", "v", "action_hash", "audit_head")
    R_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    V_FIELD_NUMBER: _ClassVar[int]
    ACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    r: str
    s: str
    v: int
    action_hash: str
    audit_head: AuditHead
    def __init__(self, r: _Optional[str] = ..., s: _Optional[str] = ..., v: _Optional[int] = ..., action_hash: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class PolymarketOrder(_message.Message):
    __slots__ = ("salt", "maker", "signer", "taker", "token_id", "maker_amount", "taker_amount", "expiration", "nonce", "fee_rate_bps", "side", "signature_type")
    SALT_FIELD_NUMBER: _ClassVar[int]
    MAKER_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    TAKER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    MAKER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TAKER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    EXPIRATION_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    FEE_RATE_BPS_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_TYPE_FIELD_NUMBER: _ClassVar[int]
    salt: str
    maker: str
    signer: str
    taker: str
    token_id: str
    maker_amount: str
    taker_amount: str
    expiration: str
    nonce: str
    fee_rate_bps: str
    side: int
    signature_type: int
    def __init__(self, salt: _Optional[str] = ..., maker: _Optional[str] = ..., signer: _Optional[str] = ..., taker: _Optional[str] = ..., token_id: _Optional[str] = ..., maker_amount: _Optional[str] = ..., taker_amount: _Optional[str] = ..., expiration: _Optional[str] = ..., nonce: _Optional[str] = ..., fee_rate_bps: _Optional[str] = ..., side: _Optional[int] = ..., signature_type: _Optional[int] = ...) -> None: ...

class SignPolymarketOrderRequest(_message.Message):
    __slots__ = ("wallet_address", "chain_id", "exchange_address", "order", "context")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    chain_id: int
    exchange_address: str
    order: PolymarketOrder
    context: SigningContext
    def __init__(self, wallet_address: _Optional[str] = ..., chain_id: _Optional[int] = ..., exchange_address: _Optional[str] = ..., order: _Optional[_Union[PolymarketOrder, _Mapping]] = ..., context: _Optional[_Union[SigningContext, _Mapping]] = ...) -> None: ...

class SignPolymarketOrderResponse(_message.Message):
    __slots__ = ("signature", "order_hash", "audit_head")
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ORDER_HASH_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    signature: str
    order_hash: str
    audit_head: AuditHead
    def __init__(self, signature: _Optional[str] = ..., order_hash: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class SignPolymarketAuthRequest(_message.Message):
    __slots__ = ("wallet_address", "chain_id", "timestamp", "nonce", "context")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    chain_id: int
    timestamp: int
    nonce: int
    context: SigningContext
    def __init__(self, wallet_address: _Optional[str] = ..., chain_id: _Optional[int] = ..., timestamp: _Optional[int] = ..., nonce: _Optional[int] = ..., context: _Optional[_Union[SigningContext, _Mapping]] = ...) -> None: ...

class SignPolymarketAuthResponse(_message.Message):
    __slots__ = ("signature", "audit_head")
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    signature: str
    audit_head: AuditHead
    def __init__(self, signature: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class SignSolanaTransactionResponse(_message.Message):
    __slots__ = ("signed_transaction", "signature", "transaction_id", "audit_head")
    SIGNED_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    signed_transaction: bytes
    signature: str
    transaction_id: str
    audit_head: AuditHead
    def __init__(self, signed_transaction: _Optional[bytes] = ..., signature: _Optional[str] = ..., transaction_id: _Optional[str] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class OpenSessionBudgetRequest(_message.Message):
    __slots__ = ("wallet_address", "session_id", "chain_id", "asset", "amount")
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    wallet_address: str
    session_id: int
    chain_id: int
    asset: str
    amount: str
    def __init__(self, wallet_address: _Optional[str] = ..., session_id: _Optional[int] = ..., chain_id: _Optional[int] = ..., asset: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class OpenSessionBudgetResponse(_message.Message):
    __slots__ = ("opened", "audit_head")
    OPENED_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    opened: bool
    audit_head: AuditHead
    def __init__(self, opened: _Optional[bool] = ..., audit_head: _Optional[_Union[AuditHead, _Mapping]] = ...) -> None: ...

class HaltSigningRequest(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class HaltSigningResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeSigningRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeSigningResponse(_message.Message):
    __slots__ = ("halted_by_owner",)
    HALTED_BY_OWNER_FIELD_NUMBER: _ClassVar[int]
    halted_by_owner: bool
    def __init__(self, halted_by_owner: _Optional[bool] = ...) -> None: ...

class GetDecisionCountsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DecisionCount(_message.Message):
    __slots__ = ("action", "decision", "rule", "count")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    action: str
    decision: str
    rule: str
    count: int
    def __init__(self, action: _Optional[str] = ..., decision: _Optional[str] = ..., rule: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetDecisionCountsResponse(_message.Message):
    __slots__ = ("counts", "started_at")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[DecisionCount]
    started_at: float
    def __init__(self, counts: _Optional[_Iterable[_Union[DecisionCount, _Mapping]]] = ..., started_at: _Optional[float] = ...) -> None: ...
