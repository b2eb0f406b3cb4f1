from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_MODE_UNSPECIFIED: _ClassVar[ExecutionMode]
    EXECUTION_MODE_AUTO: _ClassVar[ExecutionMode]
    EXECUTION_MODE_MANUAL: _ClassVar[ExecutionMode]

class ExecutionCommand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_COMMAND_UNSPECIFIED: _ClassVar[ExecutionCommand]
    EXECUTION_COMMAND_RUN: _ClassVar[ExecutionCommand]
    EXECUTION_COMMAND_UNWIND: _ClassVar[ExecutionCommand]
EXECUTION_MODE_UNSPECIFIED: ExecutionMode
EXECUTION_MODE_AUTO: ExecutionMode
EXECUTION_MODE_MANUAL: ExecutionMode
EXECUTION_COMMAND_UNSPECIFIED: ExecutionCommand
EXECUTION_COMMAND_RUN: ExecutionCommand
EXECUTION_COMMAND_UNWIND: ExecutionCommand

class Position(_message.Message):
    __slots__ = ("network", "asset_address", "token_id", "avg_unit_cost", "current_qty")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    AVG_UNIT_COST_FIELD_NUMBER: _ClassVar[int]
    CURRENT_QTY_FIELD_NUMBER: _ClassVar[int]
    network: str
    asset_address: str
    token_id: str
    avg_unit_cost: str
    current_qty: str
    def __init__(self, network: _Optional[str] = ..., asset_address: _Optional[str] = ..., token_id: _Optional[str] = ..., avg_unit_cost: _Optional[str] = ..., current_qty: _Optional[str] = ...) -> None: ...

class AssetChange(_message.Message):
    __slots__ = ("network", "transaction_hash", "from_address", "to_address", "amount", "token_address", "token_id", "token_type", "timestamp_ms")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_HASH_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    network: str
    transaction_hash: str
    from_address: str
    to_address: str
    amount: str
    token_address: str
    token_id: str
    token_type: str
    timestamp_ms: int
    def __init__(self, network: _Optional[str] = ..., transaction_hash: _Optional[str] = ..., from_address: _Optional[str] = ..., to_address: _Optional[str] = ..., amount: _Optional[str] = ..., token_address: _Optional[str] = ..., token_id: _Optional[str] = ..., token_type: _Optional[str] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...
