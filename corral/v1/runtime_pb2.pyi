import datetime

from corral.v1 import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOG_LEVEL_UNSPECIFIED: _ClassVar[LogLevel]
    LOG_LEVEL_INFO: _ClassVar[LogLevel]
    LOG_LEVEL_ERROR: _ClassVar[LogLevel]

class MemoryScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMORY_SCOPE_UNSPECIFIED: _ClassVar[MemoryScope]
    MEMORY_SCOPE_SESSION: _ClassVar[MemoryScope]
    MEMORY_SCOPE_SHARED: _ClassVar[MemoryScope]

class OrderSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_SIDE_UNSPECIFIED: _ClassVar[OrderSide]
    ORDER_SIDE_BUY: _ClassVar[OrderSide]
    ORDER_SIDE_SELL: _ClassVar[OrderSide]

class HyperliquidMarket(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HYPERLIQUID_MARKET_UNSPECIFIED: _ClassVar[HyperliquidMarket]
    HYPERLIQUID_MARKET_PERP: _ClassVar[HyperliquidMarket]
    HYPERLIQUID_MARKET_SPOT: _ClassVar[HyperliquidMarket]

class HyperliquidOrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HYPERLIQUID_ORDER_TYPE_UNSPECIFIED: _ClassVar[HyperliquidOrderType]
    HYPERLIQUID_ORDER_TYPE_MARKET: _ClassVar[HyperliquidOrderType]
    HYPERLIQUID_ORDER_TYPE_LIMIT: _ClassVar[HyperliquidOrderType]
    HYPERLIQUID_ORDER_TYPE_STOP: _ClassVar[HyperliquidOrderType]
    HYPERLIQUID_ORDER_TYPE_TAKE_PROFIT: _ClassVar[HyperliquidOrderType]

class HyperliquidReadKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HYPERLIQUID_READ_KIND_UNSPECIFIED: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_BALANCES: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_POSITIONS: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_OPEN_ORDERS: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_ORDER_FILLS: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_ORDERS: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_LIQUIDATIONS: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_MIDPOINT_PRICE: _ClassVar[HyperliquidReadKind]
    HYPERLIQUID_READ_KIND_ORDER: _ClassVar[HyperliquidReadKind]
LOG_LEVEL_UNSPECIFIED: LogLevel
LOG_LEVEL_INFO: LogLevel
LOG_LEVEL_ERROR: LogLevel
MEMORY_SCOPE_UNSPECIFIED: MemoryScope
MEMORY_SCOPE_SESSION: MemoryScope
MEMORY_SCOPE_SHARED: MemoryScope
ORDER_SIDE_UNSPECIFIED: OrderSide
ORDER_SIDE_BUY: OrderSide
ORDER_SIDE_SELL: OrderSide
HYPERLIQUID_MARKET_UNSPECIFIED: HyperliquidMarket
HYPERLIQUID_MARKET_PERP: HyperliquidMarket
HYPERLIQUID_MARKET_SPOT: HyperliquidMarket
HYPERLIQUID_ORDER_TYPE_UNSPECIFIED: HyperliquidOrderType
HYPERLIQUID_ORDER_TYPE_MARKET: HyperliquidOrderType
HYPERLIQUID_ORDER_TYPE_LIMIT: HyperliquidOrderType
HYPERLIQUID_ORDER_TYPE_STOP: HyperliquidOrderType
HYPERLIQUID_ORDER_TYPE_TAKE_PROFIT: HyperliquidOrderType
HYPERLIQUID_READ_KIND_UNSPECIFIED: HyperliquidReadKind
HYPERLIQUID_READ_KIND_BALANCES: HyperliquidReadKind
HYPERLIQUID_READ_KIND_POSITIONS: HyperliquidReadKind
HYPERLIQUID_READ_KIND_OPEN_ORDERS: HyperliquidReadKind
HYPERLIQUID_READ_KIND_ORDER_FILLS: HyperliquidReadKind
HYPERLIQUID_READ_KIND_ORDERS: HyperliquidReadKind
HYPERLIQUID_READ_KIND_LIQUIDATIONS: HyperliquidReadKind
HYPERLIQUID_READ_KIND_MIDPOINT_PRICE: HyperliquidReadKind
HYPERLIQUID_READ_KIND_ORDER: HyperliquidReadKind

class GetExecutionContextRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetExecutionContextResponse(_message.Message):
    __slots__ = ("session_id", "session_wallet_address", "execution_mode", "command", "settings", "current_positions", "unwind_positions", "execution_id", "environment", "agent_clock")
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    UNWIND_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    AGENT_CLOCK_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    session_wallet_address: str
    execution_mode: _common_pb2.ExecutionMode
    command: _common_pb2.ExecutionCommand
    settings: _struct_pb2.Struct
    current_positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    unwind_positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    execution_id: int
    environment: _containers.ScalarMap[str, str]
    agent_clock: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[int] = ..., session_wallet_address: _Optional[str] = ..., execution_mode: _Optional[_Union[_common_pb2.ExecutionMode, str]] = ..., command: _Optional[_Union[_common_pb2.ExecutionCommand, str]] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., current_positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., unwind_positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., execution_id: _Optional[int] = ..., environment: _Optional[_Mapping[str, str]] = ..., agent_clock: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("level", "message")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    level: LogLevel
    message: str
    def __init__(self, level: _Optional[_Union[LogLevel, str]] = ..., message: _Optional[str] = ...) -> None: ...

class AppendLogsRequest(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LogEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ...) -> None: ...

class AppendLogsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetMemoryRequest(_message.Message):
    __slots__ = ("key", "value", "scope")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    scope: MemoryScope
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., scope: _Optional[_Union[MemoryScope, str]] = ...) -> None: ...

class SetMemoryResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetMemoryRequest(_message.Message):
    __slots__ = ("key", "scope")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    key: str
    scope: MemoryScope
    def __init__(self, key: _Optional[str] = ..., scope: _Optional[_Union[MemoryScope, str]] = ...) -> None: ...

class GetMemoryResponse(_message.Message):
    __slots__ = ("key", "value", "updated_at_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    updated_at_ms: int
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class DeleteMemoryRequest(_message.Message):
    __slots__ = ("key", "scope")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    key: str
    scope: MemoryScope
    def __init__(self, key: _Optional[str] = ..., scope: _Optional[_Union[MemoryScope, str]] = ...) -> None: ...

class DeleteMemoryResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ListMemoryRequest(_message.Message):
    __slots__ = ("prefix", "scope")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    scope: MemoryScope
    def __init__(self, prefix: _Optional[str] = ..., scope: _Optional[_Union[MemoryScope, str]] = ...) -> None: ...

class MemoryItem(_message.Message):
    __slots__ = ("key", "updated_at_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    updated_at_ms: int
    def __init__(self, key: _Optional[str] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class ListMemoryResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[MemoryItem]
    def __init__(self, items: _Optional[_Iterable[_Union[MemoryItem, _Mapping]]] = ...) -> None: ...

class EvmTransactionRequest(_message.Message):
    __slots__ = ("to_address", "data", "value", "gas", "max_fee_per_gas", "max_priority_fee_per_gas", "nonce", "enforce_transaction_success")
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    GAS_FIELD_NUMBER: _ClassVar[int]
    MAX_FEE_PER_GAS_FIELD_NUMBER: _ClassVar[int]
    MAX_PRIORITY_FEE_PER_GAS_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    ENFORCE_TRANSACTION_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    to_address: str
    data: str
    value: str
    gas: int
    max_fee_per_gas: str
    max_priority_fee_per_gas: str
    nonce: int
    enforce_transaction_success: bool
    def __init__(self, to_address: _Optional[str] = ..., data: _Optional[str] = ..., value: _Optional[str] = ..., gas: _Optional[int] = ..., max_fee_per_gas: _Optional[str] = ..., max_priority_fee_per_gas: _Optional[str] = ..., nonce: _Optional[int] = ..., enforce_transaction_success: _Optional[bool] = ...) -> None: ...

class SolanaTransactionRequest(_message.Message):
    __slots__ = ("hex_transaction",)
    HEX_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    hex_transaction: str
    def __init__(self, hex_transaction: _Optional[str] = ...) -> None: ...

class SignAndSendRequest(_message.Message):
    __slots__ = ("request_id", "network", "message", "expires_at", "evm", "solana")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    EVM_FIELD_NUMBER: _ClassVar[int]
    SOLANA_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    network: str
    message: str
    expires_at: str
    evm: EvmTransactionRequest
    solana: SolanaTransactionRequest
    def __init__(self, request_id: _Optional[str] = ..., network: _Optional[str] = ..., message: _Optional[str] = ..., expires_at: _Optional[str] = ..., evm: _Optional[_Union[EvmTransactionRequest, _Mapping]] = ..., solana: _Optional[_Union[SolanaTransactionRequest, _Mapping]] = ...) -> None: ...

class SignAndSendResponse(_message.Message):
    __slots__ = ("internal_transaction_id", "tx_hash", "transaction_url", "suggested", "suggestion_id", "suggestion_details")
    INTERNAL_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_URL_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_DETAILS_FIELD_NUMBER: _ClassVar[int]
    internal_transaction_id: int
    tx_hash: str
    transaction_url: str
    suggested: bool
    suggestion_id: int
    suggestion_details: _struct_pb2.Struct
    def __init__(self, internal_transaction_id: _Optional[int] = ..., tx_hash: _Optional[str] = ..., transaction_url: _Optional[str] = ..., suggested: _Optional[bool] = ..., suggestion_id: _Optional[int] = ..., suggestion_details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SignMessageRequest(_message.Message):
    __slots__ = ("request_id", "chain_id", "eip191_text", "eip712_json")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    EIP191_TEXT_FIELD_NUMBER: _ClassVar[int]
    EIP712_JSON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    chain_id: int
    eip191_text: str
    eip712_json: str
    def __init__(self, request_id: _Optional[str] = ..., chain_id: _Optional[int] = ..., eip191_text: _Optional[str] = ..., eip712_json: _Optional[str] = ...) -> None: ...

class SignMessageResponse(_message.Message):
    __slots__ = ("v", "r", "s", "formatted_signature", "suggested", "suggestion_id", "suggestion_details")
    V_FIELD_NUMBER: _ClassVar[int]
    R_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    FORMATTED_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_DETAILS_FIELD_NUMBER: _ClassVar[int]
    v: int
    r: str
    s: str
    formatted_signature: str
    suggested: bool
    suggestion_id: int
    suggestion_details: _struct_pb2.Struct
    def __init__(self, v: _Optional[int] = ..., r: _Optional[str] = ..., s: _Optional[str] = ..., formatted_signature: _Optional[str] = ..., suggested: _Optional[bool] = ..., suggestion_id: _Optional[int] = ..., suggestion_details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SwapQuoteRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _struct_pb2.Struct
    def __init__(self, request: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SwapQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: _struct_pb2.Struct
    def __init__(self, quote: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SwapExecuteRequest(_message.Message):
    __slots__ = ("quote", "expires_at")
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    quote: _struct_pb2.Struct
    expires_at: str
    def __init__(self, quote: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., expires_at: _Optional[str] = ...) -> None: ...

class SwapExecuteResponse(_message.Message):
    __slots__ = ("result", "suggested", "suggestion_id", "suggestion_details")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_DETAILS_FIELD_NUMBER: _ClassVar[int]
    result: _struct_pb2.Struct
    suggested: bool
    suggestion_id: int
    suggestion_details: _struct_pb2.Struct
    def __init__(self, result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., suggested: _Optional[bool] = ..., suggestion_id: _Optional[int] = ..., suggestion_details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListAssetChangesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAssetChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[_common_pb2.AssetChange]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[_common_pb2.AssetChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ClearSuggestionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClearSuggestionsResponse(_message.Message):
    __slots__ = ("cleared",)
    CLEARED_FIELD_NUMBER: _ClassVar[int]
    cleared: int
    def __init__(self, cleared: _Optional[int] = ...) -> None: ...

class GetCurrentPositionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCurrentPositionsResponse(_message.Message):
    __slots__ = ("positions", "has_pending_txs")
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    HAS_PENDING_TXS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    has_pending_txs: bool
    def __init__(self, positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., has_pending_txs: _Optional[bool] = ...) -> None: ...

class CompleteExecutionRequest(_message.Message):
    __slots__ = ("success", "error", "traceback", "agent_entered_at")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    AGENT_ENTERED_AT_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error: str
    traceback: str
    agent_entered_at: float
    def __init__(self, success: _Optional[bool] = ..., error: _Optional[str] = ..., traceback: _Optional[str] = ..., agent_entered_at: _Optional[float] = ...) -> None: ...

class CompleteExecutionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VenueResponse(_message.Message):
    __slots__ = ("data_json", "suggested", "suggestion_id", "suggestion_details")
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_DETAILS_FIELD_NUMBER: _ClassVar[int]
    data_json: str
    suggested: bool
    suggestion_id: int
    suggestion_details: _struct_pb2.Struct
    def __init__(self, data_json: _Optional[str] = ..., suggested: _Optional[bool] = ..., suggestion_id: _Optional[int] = ..., suggestion_details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class HyperliquidPlaceOrderRequest(_message.Message):
    __slots__ = ("coin", "side", "size", "price", "market", "type", "trigger_price", "reduce_only", "post_only", "message", "expires_at")
    COIN_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_PRICE_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    coin: str
    side: OrderSide
    size: str
    price: str
    market: HyperliquidMarket
    type: HyperliquidOrderType
    trigger_price: str
    reduce_only: bool
    post_only: bool
    message: str
    expires_at: str
    def __init__(self, coin: _Optional[str] = ..., side: _Optional[_Union[OrderSide, str]] = ..., size: _Optional[str] = ..., price: _Optional[str] = ..., market: _Optional[_Union[HyperliquidMarket, str]] = ..., type: _Optional[_Union[HyperliquidOrderType, str]] = ..., trigger_price: _Optional[str] = ..., reduce_only: _Optional[bool] = ..., post_only: _Optional[bool] = ..., message: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class HyperliquidCancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "coin")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    COIN_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    coin: str
    def __init__(self, order_id: _Optional[int] = ..., coin: _Optional[str] = ...) -> None: ...

class HyperliquidTransferRequest(_message.Message):
    __slots__ = ("amount", "to_perp", "expires_at")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TO_PERP_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    amount: str
    to_perp: bool
    expires_at: str
    def __init__(self, amount: _Optional[str] = ..., to_perp: _Optional[bool] = ..., expires_at: _Optional[str] = ...) -> None: ...

class HyperliquidReadRequest(_message.Message):
    __slots__ = ("kind", "dex", "start_time_ms", "coins", "order_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DEX_FIELD_NUMBER: _ClassVar[int]
    START_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    COINS_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    kind: HyperliquidReadKind
    dex: str
    start_time_ms: int
    coins: _containers.RepeatedScalarFieldContainer[str]
    order_id: int
    def __init__(self, kind: _Optional[_Union[HyperliquidReadKind, str]] = ..., dex: _Optional[str] = ..., start_time_ms: _Optional[int] = ..., coins: _Optional[_Iterable[str]] = ..., order_id: _Optional[int] = ...) -> None: ...

class PolymarketMarketOrderRequest(_message.Message):
    __slots__ = ("token_id", "size", "side", "expires_at")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    size: str
    side: OrderSide
    expires_at: str
    def __init__(self, token_id: _Optional[str] = ..., size: _Optional[str] = ..., side: _Optional[_Union[OrderSide, str]] = ..., expires_at: _Optional[str] = ...) -> None: ...

class PolymarketRedeemPositionsRequest(_message.Message):
    __slots__ = ("token_ids",)
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    token_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, token_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class PolymarketPositionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
