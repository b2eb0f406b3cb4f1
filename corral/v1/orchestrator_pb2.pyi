import datetime

from corral.v1 import common_pb2 as _common_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_VIEWER: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_APPROVER: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_CREATED: _ClassVar[SessionStatus]
    SESSION_STATUS_RUNNING: _ClassVar[SessionStatus]
    SESSION_STATUS_PAUSED: _ClassVar[SessionStatus]
    SESSION_STATUS_UNWINDING: _ClassVar[SessionStatus]
    SESSION_STATUS_STOPPED: _ClassVar[SessionStatus]

class ShadowOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHADOW_OUTCOME_UNSPECIFIED: _ClassVar[ShadowOutcome]
    SHADOW_OUTCOME_SAME: _ClassVar[ShadowOutcome]
    SHADOW_OUTCOME_DIFFERENT: _ClassVar[ShadowOutcome]
    SHADOW_OUTCOME_PARTIAL: _ClassVar[ShadowOutcome]
    SHADOW_OUTCOME_FAILED: _ClassVar[ShadowOutcome]

class ResourceView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOURCE_VIEW_UNSPECIFIED: _ClassVar[ResourceView]
    RESOURCE_VIEW_BASIC: _ClassVar[ResourceView]
    RESOURCE_VIEW_FULL: _ClassVar[ResourceView]

class ExecutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_STATUS_UNSPECIFIED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_RUNNING: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_SUCCEEDED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_FAILED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_INTERRUPTED: _ClassVar[ExecutionStatus]

class EgressOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EGRESS_OUTCOME_UNSPECIFIED: _ClassVar[EgressOutcome]
    EGRESS_OUTCOME_ALLOWED: _ClassVar[EgressOutcome]
    EGRESS_OUTCOME_REFUSED: _ClassVar[EgressOutcome]
    EGRESS_OUTCOME_FAILED: _ClassVar[EgressOutcome]

class TransactionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_STATUS_UNSPECIFIED: _ClassVar[TransactionStatus]
    TRANSACTION_STATUS_PENDING: _ClassVar[TransactionStatus]
    TRANSACTION_STATUS_SIGNED: _ClassVar[TransactionStatus]
    TRANSACTION_STATUS_CONFIRMED: _ClassVar[TransactionStatus]
    TRANSACTION_STATUS_REVERTED: _ClassVar[TransactionStatus]
    TRANSACTION_STATUS_REJECTED: _ClassVar[TransactionStatus]
    TRANSACTION_STATUS_EXPIRED: _ClassVar[TransactionStatus]

class SuggestionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUGGESTION_KIND_UNSPECIFIED: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_TRANSACTION: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_MESSAGE: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_SWAP: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_HYPERLIQUID_ORDER: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_HYPERLIQUID_CANCEL: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_HYPERLIQUID_TRANSFER: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_POLYMARKET_ORDER: _ClassVar[SuggestionKind]
    SUGGESTION_KIND_POLYMARKET_REDEEM: _ClassVar[SuggestionKind]

class SuggestionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUGGESTION_STATUS_UNSPECIFIED: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_PENDING: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_APPROVING: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_EXECUTED: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_FAILED: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_REJECTED: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_EXPIRED: _ClassVar[SuggestionStatus]
    SUGGESTION_STATUS_CLEARED: _ClassVar[SuggestionStatus]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_SESSION: _ClassVar[EventKind]
    EVENT_KIND_EXECUTION: _ClassVar[EventKind]
    EVENT_KIND_LOG: _ClassVar[EventKind]
    EVENT_KIND_SUGGESTION: _ClassVar[EventKind]
    EVENT_KIND_TRANSACTION: _ClassVar[EventKind]
    EVENT_KIND_DRIFT: _ClassVar[EventKind]
    EVENT_KIND_PLATFORM: _ClassVar[EventKind]
    EVENT_KIND_HEARTBEAT: _ClassVar[EventKind]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PENDING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DEAD: _ClassVar[DeliveryStatus]
ROLE_UNSPECIFIED: Role
ROLE_VIEWER: Role
ROLE_OPERATOR: Role
ROLE_APPROVER: Role
ROLE_ADMIN: Role
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_CREATED: SessionStatus
SESSION_STATUS_RUNNING: SessionStatus
SESSION_STATUS_PAUSED: SessionStatus
SESSION_STATUS_UNWINDING: SessionStatus
SESSION_STATUS_STOPPED: SessionStatus
SHADOW_OUTCOME_UNSPECIFIED: ShadowOutcome
SHADOW_OUTCOME_SAME: ShadowOutcome
SHADOW_OUTCOME_DIFFERENT: ShadowOutcome
SHADOW_OUTCOME_PARTIAL: ShadowOutcome
SHADOW_OUTCOME_FAILED: ShadowOutcome
RESOURCE_VIEW_UNSPECIFIED: ResourceView
RESOURCE_VIEW_BASIC: ResourceView
RESOURCE_VIEW_FULL: ResourceView
EXECUTION_STATUS_UNSPECIFIED: ExecutionStatus
EXECUTION_STATUS_RUNNING: ExecutionStatus
EXECUTION_STATUS_SUCCEEDED: ExecutionStatus
EXECUTION_STATUS_FAILED: ExecutionStatus
EXECUTION_STATUS_INTERRUPTED: ExecutionStatus
EGRESS_OUTCOME_UNSPECIFIED: EgressOutcome
EGRESS_OUTCOME_ALLOWED: EgressOutcome
EGRESS_OUTCOME_REFUSED: EgressOutcome
EGRESS_OUTCOME_FAILED: EgressOutcome
TRANSACTION_STATUS_UNSPECIFIED: TransactionStatus
TRANSACTION_STATUS_PENDING: TransactionStatus
TRANSACTION_STATUS_SIGNED: TransactionStatus
TRANSACTION_STATUS_CONFIRMED: TransactionStatus
TRANSACTION_STATUS_REVERTED: TransactionStatus
TRANSACTION_STATUS_REJECTED: TransactionStatus
TRANSACTION_STATUS_EXPIRED: TransactionStatus
SUGGESTION_KIND_UNSPECIFIED: SuggestionKind
SUGGESTION_KIND_TRANSACTION: SuggestionKind
SUGGESTION_KIND_MESSAGE: SuggestionKind
SUGGESTION_KIND_SWAP: SuggestionKind
SUGGESTION_KIND_HYPERLIQUID_ORDER: SuggestionKind
SUGGESTION_KIND_HYPERLIQUID_CANCEL: SuggestionKind
SUGGESTION_KIND_HYPERLIQUID_TRANSFER: SuggestionKind
SUGGESTION_KIND_POLYMARKET_ORDER: SuggestionKind
SUGGESTION_KIND_POLYMARKET_REDEEM: SuggestionKind
SUGGESTION_STATUS_UNSPECIFIED: SuggestionStatus
SUGGESTION_STATUS_PENDING: SuggestionStatus
SUGGESTION_STATUS_APPROVING: SuggestionStatus
SUGGESTION_STATUS_EXECUTED: SuggestionStatus
SUGGESTION_STATUS_FAILED: SuggestionStatus
SUGGESTION_STATUS_REJECTED: SuggestionStatus
SUGGESTION_STATUS_EXPIRED: SuggestionStatus
SUGGESTION_STATUS_CLEARED: SuggestionStatus
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_SESSION: EventKind
EVENT_KIND_EXECUTION: EventKind
EVENT_KIND_LOG: EventKind
EVENT_KIND_SUGGESTION: EventKind
EVENT_KIND_TRANSACTION: EventKind
EVENT_KIND_DRIFT: EventKind
EVENT_KIND_PLATFORM: EventKind
EVENT_KIND_HEARTBEAT: EventKind
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_PENDING: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus
DELIVERY_STATUS_DEAD: DeliveryStatus

class GetCallerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCallerResponse(_message.Message):
    __slots__ = ("name", "roles", "wallet_addresses", "all_wallets")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    ALL_WALLETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    roles: _containers.RepeatedScalarFieldContainer[Role]
    wallet_addresses: _containers.RepeatedScalarFieldContainer[str]
    all_wallets: bool
    def __init__(self, name: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[Role, str]]] = ..., wallet_addresses: _Optional[_Iterable[str]] = ..., all_wallets: _Optional[bool] = ...) -> None: ...

class PlatformStatus(_message.Message):
    __slots__ = ("halted", "reason", "halted_at", "signer_audit_head")
    HALTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    HALTED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_AUDIT_HEAD_FIELD_NUMBER: _ClassVar[int]
    halted: bool
    reason: str
    halted_at: _timestamp_pb2.Timestamp
    signer_audit_head: str
    def __init__(self, halted: _Optional[bool] = ..., reason: _Optional[str] = ..., halted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signer_audit_head: _Optional[str] = ...) -> None: ...

class HaltPlatformRequest(_message.Message):
    __slots__ = ("reason", "request_id")
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    reason: str
    request_id: str
    def __init__(self, reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class HaltPlatformResponse(_message.Message):
    __slots__ = ("status", "sandboxes_stopped", "signer_halted", "signer_error")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SANDBOXES_STOPPED_FIELD_NUMBER: _ClassVar[int]
    SIGNER_HALTED_FIELD_NUMBER: _ClassVar[int]
    SIGNER_ERROR_FIELD_NUMBER: _ClassVar[int]
    status: PlatformStatus
    sandboxes_stopped: int
    signer_halted: bool
    signer_error: str
    def __init__(self, status: _Optional[_Union[PlatformStatus, _Mapping]] = ..., sandboxes_stopped: _Optional[int] = ..., signer_halted: _Optional[bool] = ..., signer_error: _Optional[str] = ...) -> None: ...

class ResumePlatformRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ResumePlatformResponse(_message.Message):
    __slots__ = ("status", "signer_resumed", "signer_halted_by_owner", "signer_error")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SIGNER_RESUMED_FIELD_NUMBER: _ClassVar[int]
    SIGNER_HALTED_BY_OWNER_FIELD_NUMBER: _ClassVar[int]
    SIGNER_ERROR_FIELD_NUMBER: _ClassVar[int]
    status: PlatformStatus
    signer_resumed: bool
    signer_halted_by_owner: bool
    signer_error: str
    def __init__(self, status: _Optional[_Union[PlatformStatus, _Mapping]] = ..., signer_resumed: _Optional[bool] = ..., signer_halted_by_owner: _Optional[bool] = ..., signer_error: _Optional[str] = ...) -> None: ...

class GetPlatformStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPlatformStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: PlatformStatus
    def __init__(self, status: _Optional[_Union[PlatformStatus, _Mapping]] = ...) -> None: ...

class SessionBreakers(_message.Message):
    __slots__ = ("max_loss", "max_loss_percent", "max_loss_window_seconds", "max_transactions_per_hour")
    MAX_LOSS_FIELD_NUMBER: _ClassVar[int]
    MAX_LOSS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_LOSS_WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_TRANSACTIONS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    max_loss: str
    max_loss_percent: str
    max_loss_window_seconds: int
    max_transactions_per_hour: int
    def __init__(self, max_loss: _Optional[str] = ..., max_loss_percent: _Optional[str] = ..., max_loss_window_seconds: _Optional[int] = ..., max_transactions_per_hour: _Optional[int] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("id", "name", "version", "image", "image_id", "wallet_type", "allowed_execution_modes", "runtime_interval_minutes", "manifest_toml", "registered_at", "egress_hosts", "description", "summary", "risks", "settings")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_TYPE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_EXECUTION_MODES_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_INTERVAL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_TOML_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    EGRESS_HOSTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    RISKS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    version: str
    image: str
    image_id: str
    wallet_type: str
    allowed_execution_modes: _containers.RepeatedScalarFieldContainer[_common_pb2.ExecutionMode]
    runtime_interval_minutes: int
    manifest_toml: str
    registered_at: _timestamp_pb2.Timestamp
    egress_hosts: _containers.RepeatedScalarFieldContainer[str]
    description: str
    summary: str
    risks: str
    settings: _containers.RepeatedCompositeFieldContainer[AgentSetting]
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., image: _Optional[str] = ..., image_id: _Optional[str] = ..., wallet_type: _Optional[str] = ..., allowed_execution_modes: _Optional[_Iterable[_Union[_common_pb2.ExecutionMode, str]]] = ..., runtime_interval_minutes: _Optional[int] = ..., manifest_toml: _Optional[str] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., egress_hosts: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., summary: _Optional[str] = ..., risks: _Optional[str] = ..., settings: _Optional[_Iterable[_Union[AgentSetting, _Mapping]]] = ...) -> None: ...

class RegisterAgentRequest(_message.Message):
    __slots__ = ("image", "request_id")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    image: str
    request_id: str
    def __init__(self, image: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RegisterAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: int
    def __init__(self, agent_id: _Optional[int] = ...) -> None: ...

class GetAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("network", "asset_address", "amount")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    network: str
    asset_address: str
    amount: str
    def __init__(self, network: _Optional[str] = ..., asset_address: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class Wallet(_message.Message):
    __slots__ = ("address", "wallet_type", "balances")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    WALLET_TYPE_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    address: str
    wallet_type: str
    balances: _containers.RepeatedCompositeFieldContainer[Balance]
    def __init__(self, address: _Optional[str] = ..., wallet_type: _Optional[str] = ..., balances: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ...) -> None: ...

class ListWalletsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWalletsResponse(_message.Message):
    __slots__ = ("wallets",)
    WALLETS_FIELD_NUMBER: _ClassVar[int]
    wallets: _containers.RepeatedCompositeFieldContainer[Wallet]
    def __init__(self, wallets: _Optional[_Iterable[_Union[Wallet, _Mapping]]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "agent_id", "wallet_address", "status", "execution_mode", "settings", "allocation", "created_at", "next_run_at", "stopped_at", "unwind_positions", "positions", "has_pending_transactions", "breakers", "status_reason", "egress_hosts", "environment", "record_executions", "paper_of_wallet_address", "paper_fork_block", "backtest", "shadow_agent_id")
    class SettingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    UNWIND_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    HAS_PENDING_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    BREAKERS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    EGRESS_HOSTS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    RECORD_EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    PAPER_OF_WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PAPER_FORK_BLOCK_FIELD_NUMBER: _ClassVar[int]
    BACKTEST_FIELD_NUMBER: _ClassVar[int]
    SHADOW_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    agent_id: int
    wallet_address: str
    status: SessionStatus
    execution_mode: _common_pb2.ExecutionMode
    settings: _containers.ScalarMap[str, str]
    allocation: _common_pb2.Position
    created_at: _timestamp_pb2.Timestamp
    next_run_at: _timestamp_pb2.Timestamp
    stopped_at: _timestamp_pb2.Timestamp
    unwind_positions: _containers.RepeatedCompositeFieldContainer[PositionRef]
    positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    has_pending_transactions: bool
    breakers: SessionBreakers
    status_reason: str
    egress_hosts: _containers.RepeatedScalarFieldContainer[str]
    environment: _containers.ScalarMap[str, str]
    record_executions: bool
    paper_of_wallet_address: str
    paper_fork_block: int
    backtest: Backtest
    shadow_agent_id: int
    def __init__(self, id: _Optional[int] = ..., agent_id: _Optional[int] = ..., wallet_address: _Optional[str] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., execution_mode: _Optional[_Union[_common_pb2.ExecutionMode, str]] = ..., settings: _Optional[_Mapping[str, str]] = ..., allocation: _Optional[_Union[_common_pb2.Position, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unwind_positions: _Optional[_Iterable[_Union[PositionRef, _Mapping]]] = ..., positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., has_pending_transactions: _Optional[bool] = ..., breakers: _Optional[_Union[SessionBreakers, _Mapping]] = ..., status_reason: _Optional[str] = ..., egress_hosts: _Optional[_Iterable[str]] = ..., environment: _Optional[_Mapping[str, str]] = ..., record_executions: _Optional[bool] = ..., paper_of_wallet_address: _Optional[str] = ..., paper_fork_block: _Optional[int] = ..., backtest: _Optional[_Union[Backtest, _Mapping]] = ..., shadow_agent_id: _Optional[int] = ...) -> None: ...

class ShadowRun(_message.Message):
    __slots__ = ("id", "session_id", "execution_id", "agent_id", "outcome", "difference", "missing_reads", "recorded_actions", "replayed_actions", "error", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    MISSING_READS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    session_id: int
    execution_id: int
    agent_id: int
    outcome: ShadowOutcome
    difference: _containers.RepeatedScalarFieldContainer[str]
    missing_reads: _containers.RepeatedScalarFieldContainer[str]
    recorded_actions: int
    replayed_actions: int
    error: str
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., session_id: _Optional[int] = ..., execution_id: _Optional[int] = ..., agent_id: _Optional[int] = ..., outcome: _Optional[_Union[ShadowOutcome, str]] = ..., difference: _Optional[_Iterable[str]] = ..., missing_reads: _Optional[_Iterable[str]] = ..., recorded_actions: _Optional[int] = ..., replayed_actions: _Optional[int] = ..., error: _Optional[str] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListShadowRunsRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListShadowRunsResponse(_message.Message):
    __slots__ = ("shadow_runs", "next_page_token")
    SHADOW_RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    shadow_runs: _containers.RepeatedCompositeFieldContainer[ShadowRun]
    next_page_token: str
    def __init__(self, shadow_runs: _Optional[_Iterable[_Union[ShadowRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Backtest(_message.Message):
    __slots__ = ("from_block", "to_block", "every_blocks", "from_time", "to_time", "every_seconds")
    FROM_BLOCK_FIELD_NUMBER: _ClassVar[int]
    TO_BLOCK_FIELD_NUMBER: _ClassVar[int]
    EVERY_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    EVERY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    from_block: int
    to_block: int
    every_blocks: int
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    every_seconds: int
    def __init__(self, from_block: _Optional[int] = ..., to_block: _Optional[int] = ..., every_blocks: _Optional[int] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., every_seconds: _Optional[int] = ...) -> None: ...

class PositionRef(_message.Message):
    __slots__ = ("network", "asset_address")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    network: str
    asset_address: str
    def __init__(self, network: _Optional[str] = ..., asset_address: _Optional[str] = ...) -> None: ...

class StartSessionRequest(_message.Message):
    __slots__ = ("agent_id", "wallet_address", "execution_mode", "settings", "allocation_amount", "breakers", "environment", "record_executions", "paper", "backtest", "request_id")
    class SettingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class EnvironmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_MODE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BREAKERS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    RECORD_EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    PAPER_FIELD_NUMBER: _ClassVar[int]
    BACKTEST_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: int
    wallet_address: str
    execution_mode: _common_pb2.ExecutionMode
    settings: _containers.ScalarMap[str, str]
    allocation_amount: str
    breakers: SessionBreakers
    environment: _containers.ScalarMap[str, str]
    record_executions: bool
    paper: bool
    backtest: Backtest
    request_id: str
    def __init__(self, agent_id: _Optional[int] = ..., wallet_address: _Optional[str] = ..., execution_mode: _Optional[_Union[_common_pb2.ExecutionMode, str]] = ..., settings: _Optional[_Mapping[str, str]] = ..., allocation_amount: _Optional[str] = ..., breakers: _Optional[_Union[SessionBreakers, _Mapping]] = ..., environment: _Optional[_Mapping[str, str]] = ..., record_executions: _Optional[bool] = ..., paper: _Optional[bool] = ..., backtest: _Optional[_Union[Backtest, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class StartSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class PromoteSessionRequest(_message.Message):
    __slots__ = ("session_id", "allocation_amount", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    allocation_amount: str
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., allocation_amount: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class PromoteSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class StopSessionRequest(_message.Message):
    __slots__ = ("session_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class StopSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class PauseSessionRequest(_message.Message):
    __slots__ = ("session_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class PauseSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class ResumeSessionRequest(_message.Message):
    __slots__ = ("session_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResumeSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class UnwindSessionRequest(_message.Message):
    __slots__ = ("session_id", "positions", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    positions: _containers.RepeatedCompositeFieldContainer[PositionRef]
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., positions: _Optional[_Iterable[_Union[PositionRef, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UnwindSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class UpdateSessionRequest(_message.Message):
    __slots__ = ("session", "update_mask", "request_id")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session: Session
    update_mask: _field_mask_pb2.FieldMask
    request_id: str
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "statuses", "agent_id", "wallet_address", "view")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[SessionStatus]
    agent_id: int
    wallet_address: str
    view: ResourceView
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[SessionStatus, str]]] = ..., agent_id: _Optional[int] = ..., wallet_address: _Optional[str] = ..., view: _Optional[_Union[ResourceView, str]] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExecutionLog(_message.Message):
    __slots__ = ("level", "message", "logged_at")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOGGED_AT_FIELD_NUMBER: _ClassVar[int]
    level: str
    message: str
    logged_at: _timestamp_pb2.Timestamp
    def __init__(self, level: _Optional[str] = ..., message: _Optional[str] = ..., logged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Execution(_message.Message):
    __slots__ = ("id", "session_id", "command", "status", "error", "started_at", "finished_at", "logs", "traceback", "log_lines_dropped", "output_dropped_bytes", "last_sdk_call", "egress_connections", "log_lines_not_shown")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    LOG_LINES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DROPPED_BYTES_FIELD_NUMBER: _ClassVar[int]
    LAST_SDK_CALL_FIELD_NUMBER: _ClassVar[int]
    EGRESS_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_LINES_NOT_SHOWN_FIELD_NUMBER: _ClassVar[int]
    id: int
    session_id: int
    command: _common_pb2.ExecutionCommand
    status: ExecutionStatus
    error: str
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    logs: _containers.RepeatedCompositeFieldContainer[ExecutionLog]
    traceback: str
    log_lines_dropped: int
    output_dropped_bytes: int
    last_sdk_call: SdkCall
    egress_connections: _containers.RepeatedCompositeFieldContainer[EgressConnection]
    log_lines_not_shown: int
    def __init__(self, id: _Optional[int] = ..., session_id: _Optional[int] = ..., command: _Optional[_Union[_common_pb2.ExecutionCommand, str]] = ..., status: _Optional[_Union[ExecutionStatus, str]] = ..., error: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., logs: _Optional[_Iterable[_Union[ExecutionLog, _Mapping]]] = ..., traceback: _Optional[str] = ..., log_lines_dropped: _Optional[int] = ..., output_dropped_bytes: _Optional[int] = ..., last_sdk_call: _Optional[_Union[SdkCall, _Mapping]] = ..., egress_connections: _Optional[_Iterable[_Union[EgressConnection, _Mapping]]] = ..., log_lines_not_shown: _Optional[int] = ...) -> None: ...

class SdkCall(_message.Message):
    __slots__ = ("method", "sdk_method", "called_at")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SDK_METHOD_FIELD_NUMBER: _ClassVar[int]
    CALLED_AT_FIELD_NUMBER: _ClassVar[int]
    method: str
    sdk_method: str
    called_at: _timestamp_pb2.Timestamp
    def __init__(self, method: _Optional[str] = ..., sdk_method: _Optional[str] = ..., called_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EgressConnection(_message.Message):
    __slots__ = ("method", "host", "port", "address", "bytes_out", "bytes_in", "duration_ms", "outcome", "reason")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BYTES_OUT_FIELD_NUMBER: _ClassVar[int]
    BYTES_IN_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    method: str
    host: str
    port: int
    address: str
    bytes_out: int
    bytes_in: int
    duration_ms: int
    outcome: EgressOutcome
    reason: str
    def __init__(self, method: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., address: _Optional[str] = ..., bytes_out: _Optional[int] = ..., bytes_in: _Optional[int] = ..., duration_ms: _Optional[int] = ..., outcome: _Optional[_Union[EgressOutcome, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token", "view")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    page_size: int
    page_token: str
    view: ResourceView
    def __init__(self, session_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[ResourceView, str]] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[Execution]
    next_page_token: str
    def __init__(self, executions: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetExecutionRequest(_message.Message):
    __slots__ = ("execution_id",)
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: int
    def __init__(self, execution_id: _Optional[int] = ...) -> None: ...

class GetExecutionResponse(_message.Message):
    __slots__ = ("execution",)
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ...) -> None: ...

class GetExecutionLogsRequest(_message.Message):
    __slots__ = ("execution_id", "page_size", "page_token")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    execution_id: int
    page_size: int
    page_token: str
    def __init__(self, execution_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetExecutionLogsResponse(_message.Message):
    __slots__ = ("execution", "logs", "output", "next_page_token")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    execution: Execution
    logs: _containers.RepeatedCompositeFieldContainer[ExecutionLog]
    output: str
    next_page_token: str
    def __init__(self, execution: _Optional[_Union[Execution, _Mapping]] = ..., logs: _Optional[_Iterable[_Union[ExecutionLog, _Mapping]]] = ..., output: _Optional[str] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("id", "session_id", "execution_id", "network", "from_address", "to_address", "value", "tx_hash", "status", "block_number", "error", "created_at", "explorer_url")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPLORER_URL_FIELD_NUMBER: _ClassVar[int]
    id: int
    session_id: int
    execution_id: int
    network: str
    from_address: str
    to_address: str
    value: str
    tx_hash: str
    status: TransactionStatus
    block_number: int
    error: str
    created_at: _timestamp_pb2.Timestamp
    explorer_url: str
    def __init__(self, id: _Optional[int] = ..., session_id: _Optional[int] = ..., execution_id: _Optional[int] = ..., network: _Optional[str] = ..., from_address: _Optional[str] = ..., to_address: _Optional[str] = ..., value: _Optional[str] = ..., tx_hash: _Optional[str] = ..., status: _Optional[_Union[TransactionStatus, str]] = ..., block_number: _Optional[int] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., explorer_url: _Optional[str] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token", "statuses", "created_after", "created_before")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[TransactionStatus]
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[TransactionStatus, str]]] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("transaction_id",)
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    transaction_id: int
    def __init__(self, transaction_id: _Optional[int] = ...) -> None: ...

class GetTransactionResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class Suggestion(_message.Message):
    __slots__ = ("id", "session_id", "execution_id", "kind", "status", "details", "result", "error", "created_at", "expires_at", "decided_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    session_id: int
    execution_id: int
    kind: SuggestionKind
    status: SuggestionStatus
    details: _struct_pb2.Struct
    result: _struct_pb2.Struct
    error: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., session_id: _Optional[int] = ..., execution_id: _Optional[int] = ..., kind: _Optional[_Union[SuggestionKind, str]] = ..., status: _Optional[_Union[SuggestionStatus, str]] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSuggestionsRequest(_message.Message):
    __slots__ = ("session_id", "include_discarded", "page_size", "page_token", "statuses", "created_after", "created_before")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DISCARDED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    include_discarded: bool
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[SuggestionStatus]
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[int] = ..., include_discarded: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[SuggestionStatus, str]]] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSuggestionsResponse(_message.Message):
    __slots__ = ("suggestions", "next_page_token")
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[Suggestion]
    next_page_token: str
    def __init__(self, suggestions: _Optional[_Iterable[_Union[Suggestion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSuggestionRequest(_message.Message):
    __slots__ = ("suggestion_id",)
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    suggestion_id: int
    def __init__(self, suggestion_id: _Optional[int] = ...) -> None: ...

class GetSuggestionResponse(_message.Message):
    __slots__ = ("suggestion",)
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    suggestion: Suggestion
    def __init__(self, suggestion: _Optional[_Union[Suggestion, _Mapping]] = ...) -> None: ...

class ApproveSuggestionRequest(_message.Message):
    __slots__ = ("suggestion_id", "request_id")
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    suggestion_id: int
    request_id: str
    def __init__(self, suggestion_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ApproveSuggestionResponse(_message.Message):
    __slots__ = ("suggestion",)
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    suggestion: Suggestion
    def __init__(self, suggestion: _Optional[_Union[Suggestion, _Mapping]] = ...) -> None: ...

class RejectSuggestionRequest(_message.Message):
    __slots__ = ("suggestion_id", "request_id")
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    suggestion_id: int
    request_id: str
    def __init__(self, suggestion_id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class RejectSuggestionResponse(_message.Message):
    __slots__ = ("suggestion",)
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    suggestion: Suggestion
    def __init__(self, suggestion: _Optional[_Union[Suggestion, _Mapping]] = ...) -> None: ...

class ListSessionMemoryRequest(_message.Message):
    __slots__ = ("session_id", "shared", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    shared: bool
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[int] = ..., shared: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class MemoryEntry(_message.Message):
    __slots__ = ("key", "value", "updated_at")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSessionMemoryResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[MemoryEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[MemoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SetSessionSecretRequest(_message.Message):
    __slots__ = ("session_id", "name", "host", "value", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    name: str
    host: str
    value: str
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., name: _Optional[str] = ..., host: _Optional[str] = ..., value: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class SessionSecret(_message.Message):
    __slots__ = ("name", "host", "set_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    SET_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    host: str
    set_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., host: _Optional[str] = ..., set_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetSessionSecretResponse(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: SessionSecret
    def __init__(self, secret: _Optional[_Union[SessionSecret, _Mapping]] = ...) -> None: ...

class ListSessionSecretsRequest(_message.Message):
    __slots__ = ("session_id", "page_size", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    page_size: int
    page_token: str
    def __init__(self, session_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionSecretsResponse(_message.Message):
    __slots__ = ("secrets", "next_page_token")
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    secrets: _containers.RepeatedCompositeFieldContainer[SessionSecret]
    next_page_token: str
    def __init__(self, secrets: _Optional[_Iterable[_Union[SessionSecret, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSessionSecretRequest(_message.Message):
    __slots__ = ("session_id", "name", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    name: str
    request_id: str
    def __init__(self, session_id: _Optional[int] = ..., name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteSessionSecretResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("session_id", "after_event_id", "heartbeat_seconds")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    after_event_id: int
    heartbeat_seconds: int
    def __init__(self, session_id: _Optional[int] = ..., after_event_id: _Optional[int] = ..., heartbeat_seconds: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "kind", "change", "session_id", "occurred_at", "session", "execution", "log", "suggestion", "transaction", "drift", "platform", "heartbeat", "actor")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    id: int
    kind: EventKind
    change: str
    session_id: int
    occurred_at: _timestamp_pb2.Timestamp
    session: Session
    execution: Execution
    log: LogEvent
    suggestion: Suggestion
    transaction: Transaction
    drift: Drift
    platform: PlatformStatus
    heartbeat: Heartbeat
    actor: str
    def __init__(self, id: _Optional[int] = ..., kind: _Optional[_Union[EventKind, str]] = ..., change: _Optional[str] = ..., session_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., execution: _Optional[_Union[Execution, _Mapping]] = ..., log: _Optional[_Union[LogEvent, _Mapping]] = ..., suggestion: _Optional[_Union[Suggestion, _Mapping]] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ..., drift: _Optional[_Union[Drift, _Mapping]] = ..., platform: _Optional[_Union[PlatformStatus, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("position", "caught_up")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    position: int
    caught_up: bool
    def __init__(self, position: _Optional[int] = ..., caught_up: _Optional[bool] = ...) -> None: ...

class Drift(_message.Message):
    __slots__ = ("id", "wallet_address", "network", "asset_address", "expected", "on_chain", "paused_sessions", "detected_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ON_CHAIN_FIELD_NUMBER: _ClassVar[int]
    PAUSED_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    wallet_address: str
    network: str
    asset_address: str
    expected: str
    on_chain: str
    paused_sessions: bool
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., wallet_address: _Optional[str] = ..., network: _Optional[str] = ..., asset_address: _Optional[str] = ..., expected: _Optional[str] = ..., on_chain: _Optional[str] = ..., paused_sessions: _Optional[bool] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LogEvent(_message.Message):
    __slots__ = ("execution_id", "line")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    execution_id: int
    line: ExecutionLog
    def __init__(self, execution_id: _Optional[int] = ..., line: _Optional[_Union[ExecutionLog, _Mapping]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("id", "owner", "events", "target", "destination", "session_id", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    owner: str
    events: _containers.RepeatedScalarFieldContainer[str]
    target: str
    destination: str
    session_id: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., owner: _Optional[str] = ..., events: _Optional[_Iterable[str]] = ..., target: _Optional[str] = ..., destination: _Optional[str] = ..., session_id: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ("events", "webhook_url", "apprise_url", "session_id")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    APPRISE_URL_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedScalarFieldContainer[str]
    webhook_url: str
    apprise_url: str
    session_id: int
    def __init__(self, events: _Optional[_Iterable[str]] = ..., webhook_url: _Optional[str] = ..., apprise_url: _Optional[str] = ..., session_id: _Optional[int] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "signing_secret")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SIGNING_SECRET_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    signing_secret: str
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., signing_secret: _Optional[str] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ("subscriptions",)
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ...) -> None: ...

class DeleteSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    def __init__(self, subscription_id: _Optional[int] = ...) -> None: ...

class DeleteSubscriptionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "subscription_id", "type", "event_id", "session_id", "status", "attempts", "last_error", "occurred_at", "next_attempt_at", "delivered_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    subscription_id: int
    type: str
    event_id: int
    session_id: int
    status: DeliveryStatus
    attempts: int
    last_error: str
    occurred_at: _timestamp_pb2.Timestamp
    next_attempt_at: _timestamp_pb2.Timestamp
    delivered_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., subscription_id: _Optional[int] = ..., type: _Optional[str] = ..., event_id: _Optional[int] = ..., session_id: _Optional[int] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("subscription_id", "status", "page_size")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    status: DeliveryStatus
    page_size: int
    def __init__(self, subscription_id: _Optional[int] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class AgentSetting(_message.Message):
    __slots__ = ("name", "type", "description", "default_value", "required", "options", "minimum", "maximum")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    description: str
    default_value: str
    required: bool
    options: _containers.RepeatedScalarFieldContainer[str]
    minimum: str
    maximum: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., description: _Optional[str] = ..., default_value: _Optional[str] = ..., required: _Optional[bool] = ..., options: _Optional[_Iterable[str]] = ..., minimum: _Optional[str] = ..., maximum: _Optional[str] = ...) -> None: ...

class ExportSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class ExportSessionResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class GetSessionSummaryRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("decimals", "symbol")
    DECIMALS_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    decimals: int
    symbol: str
    def __init__(self, decimals: _Optional[int] = ..., symbol: _Optional[str] = ...) -> None: ...

class SummaryPosition(_message.Message):
    __slots__ = ("network", "asset_address", "amount", "token", "usd_price", "usd_value")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USD_PRICE_FIELD_NUMBER: _ClassVar[int]
    USD_VALUE_FIELD_NUMBER: _ClassVar[int]
    network: str
    asset_address: str
    amount: str
    token: TokenInfo
    usd_price: str
    usd_value: str
    def __init__(self, network: _Optional[str] = ..., asset_address: _Optional[str] = ..., amount: _Optional[str] = ..., token: _Optional[_Union[TokenInfo, _Mapping]] = ..., usd_price: _Optional[str] = ..., usd_value: _Optional[str] = ...) -> None: ...

class SummaryFees(_message.Message):
    __slots__ = ("network", "asset_address", "amount", "token", "usd_value")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    USD_VALUE_FIELD_NUMBER: _ClassVar[int]
    network: str
    asset_address: str
    amount: str
    token: TokenInfo
    usd_value: str
    def __init__(self, network: _Optional[str] = ..., asset_address: _Optional[str] = ..., amount: _Optional[str] = ..., token: _Optional[_Union[TokenInfo, _Mapping]] = ..., usd_value: _Optional[str] = ...) -> None: ...

class SessionSummary(_message.Message):
    __slots__ = ("session_id", "positions", "fees", "starting_asset", "allocation", "realised_pnl", "realised_pnl_usd", "positions_usd_value", "has_pending_transactions")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    STARTING_ASSET_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    REALISED_PNL_FIELD_NUMBER: _ClassVar[int]
    REALISED_PNL_USD_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_USD_VALUE_FIELD_NUMBER: _ClassVar[int]
    HAS_PENDING_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    positions: _containers.RepeatedCompositeFieldContainer[SummaryPosition]
    fees: _containers.RepeatedCompositeFieldContainer[SummaryFees]
    starting_asset: PositionRef
    allocation: str
    realised_pnl: str
    realised_pnl_usd: str
    positions_usd_value: str
    has_pending_transactions: bool
    def __init__(self, session_id: _Optional[int] = ..., positions: _Optional[_Iterable[_Union[SummaryPosition, _Mapping]]] = ..., fees: _Optional[_Iterable[_Union[SummaryFees, _Mapping]]] = ..., starting_asset: _Optional[_Union[PositionRef, _Mapping]] = ..., allocation: _Optional[str] = ..., realised_pnl: _Optional[str] = ..., realised_pnl_usd: _Optional[str] = ..., positions_usd_value: _Optional[str] = ..., has_pending_transactions: _Optional[bool] = ...) -> None: ...

class GetSessionSummaryResponse(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: SessionSummary
    def __init__(self, summary: _Optional[_Union[SessionSummary, _Mapping]] = ...) -> None: ...

class GetExecutionRecordingRequest(_message.Message):
    __slots__ = ("execution_id",)
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: int
    def __init__(self, execution_id: _Optional[int] = ...) -> None: ...

class RecordedCall(_message.Message):
    __slots__ = ("method", "at_ms", "request", "response", "code", "details", "withheld")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_FIELD_NUMBER: _ClassVar[int]
    method: str
    at_ms: int
    request: bytes
    response: bytes
    code: str
    details: str
    withheld: bool
    def __init__(self, method: _Optional[str] = ..., at_ms: _Optional[int] = ..., request: _Optional[bytes] = ..., response: _Optional[bytes] = ..., code: _Optional[str] = ..., details: _Optional[str] = ..., withheld: _Optional[bool] = ...) -> None: ...

class ExecutionRecording(_message.Message):
    __slots__ = ("execution_id", "started_at", "calls", "calls_not_recorded", "egress_connections", "exchanges", "exchanges_not_recorded")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    CALLS_NOT_RECORDED_FIELD_NUMBER: _ClassVar[int]
    EGRESS_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    EXCHANGES_FIELD_NUMBER: _ClassVar[int]
    EXCHANGES_NOT_RECORDED_FIELD_NUMBER: _ClassVar[int]
    execution_id: int
    started_at: _timestamp_pb2.Timestamp
    calls: _containers.RepeatedCompositeFieldContainer[RecordedCall]
    calls_not_recorded: int
    egress_connections: _containers.RepeatedCompositeFieldContainer[EgressConnection]
    exchanges: _containers.RepeatedCompositeFieldContainer[RecordedExchange]
    exchanges_not_recorded: int
    def __init__(self, execution_id: _Optional[int] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calls: _Optional[_Iterable[_Union[RecordedCall, _Mapping]]] = ..., calls_not_recorded: _Optional[int] = ..., egress_connections: _Optional[_Iterable[_Union[EgressConnection, _Mapping]]] = ..., exchanges: _Optional[_Iterable[_Union[RecordedExchange, _Mapping]]] = ..., exchanges_not_recorded: _Optional[int] = ...) -> None: ...

class RecordedExchange(_message.Message):
    __slots__ = ("scheme", "host", "port", "method", "path", "request_sha256", "at_ms", "response", "withheld")
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_SHA256_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_FIELD_NUMBER: _ClassVar[int]
    scheme: str
    host: str
    port: int
    method: str
    path: str
    request_sha256: bytes
    at_ms: int
    response: bytes
    withheld: bool
    def __init__(self, scheme: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., method: _Optional[str] = ..., path: _Optional[str] = ..., request_sha256: _Optional[bytes] = ..., at_ms: _Optional[int] = ..., response: _Optional[bytes] = ..., withheld: _Optional[bool] = ...) -> None: ...

class GetExecutionRecordingResponse(_message.Message):
    __slots__ = ("recording",)
    RECORDING_FIELD_NUMBER: _ClassVar[int]
    recording: ExecutionRecording
    def __init__(self, recording: _Optional[_Union[ExecutionRecording, _Mapping]] = ...) -> None: ...

class GetBacktestReportRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    def __init__(self, session_id: _Optional[int] = ...) -> None: ...

class BacktestStep(_message.Message):
    __slots__ = ("step", "block", "block_time", "positions", "equity", "unvalued_assets", "after_last_run")
    STEP_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TIME_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    UNVALUED_ASSETS_FIELD_NUMBER: _ClassVar[int]
    AFTER_LAST_RUN_FIELD_NUMBER: _ClassVar[int]
    step: int
    block: int
    block_time: _timestamp_pb2.Timestamp
    positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    equity: str
    unvalued_assets: _containers.RepeatedScalarFieldContainer[str]
    after_last_run: bool
    def __init__(self, step: _Optional[int] = ..., block: _Optional[int] = ..., block_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., equity: _Optional[str] = ..., unvalued_assets: _Optional[_Iterable[str]] = ..., after_last_run: _Optional[bool] = ...) -> None: ...

class BacktestReport(_message.Message):
    __slots__ = ("session_id", "finished", "steps", "starting_amount", "final_equity", "pnl", "max_drawdown", "trades", "fees_paid", "refusals_by_rule", "runs", "live_hosts")
    class RefusalsByRuleEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    STARTING_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FINAL_EQUITY_FIELD_NUMBER: _ClassVar[int]
    PNL_FIELD_NUMBER: _ClassVar[int]
    MAX_DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    FEES_PAID_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_BY_RULE_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    LIVE_HOSTS_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    finished: bool
    steps: _containers.RepeatedCompositeFieldContainer[BacktestStep]
    starting_amount: str
    final_equity: str
    pnl: str
    max_drawdown: float
    trades: int
    fees_paid: str
    refusals_by_rule: _containers.ScalarMap[str, int]
    runs: int
    live_hosts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[int] = ..., finished: _Optional[bool] = ..., steps: _Optional[_Iterable[_Union[BacktestStep, _Mapping]]] = ..., starting_amount: _Optional[str] = ..., final_equity: _Optional[str] = ..., pnl: _Optional[str] = ..., max_drawdown: _Optional[float] = ..., trades: _Optional[int] = ..., fees_paid: _Optional[str] = ..., refusals_by_rule: _Optional[_Mapping[str, int]] = ..., runs: _Optional[int] = ..., live_hosts: _Optional[_Iterable[str]] = ...) -> None: ...

class GetBacktestReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: BacktestReport
    def __init__(self, report: _Optional[_Union[BacktestReport, _Mapping]] = ...) -> None: ...

class ListMarketDataRequest(_message.Message):
    __slots__ = ("venue",)
    VENUE_FIELD_NUMBER: _ClassVar[int]
    venue: str
    def __init__(self, venue: _Optional[str] = ...) -> None: ...

class MarketDataSeries(_message.Message):
    __slots__ = ("venue", "series", "first_at", "last_at", "samples")
    VENUE_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    FIRST_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_AT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    venue: str
    series: str
    first_at: _timestamp_pb2.Timestamp
    last_at: _timestamp_pb2.Timestamp
    samples: int
    def __init__(self, venue: _Optional[str] = ..., series: _Optional[str] = ..., first_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., samples: _Optional[int] = ...) -> None: ...

class ListMarketDataResponse(_message.Message):
    __slots__ = ("series",)
    SERIES_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[MarketDataSeries]
    def __init__(self, series: _Optional[_Iterable[_Union[MarketDataSeries, _Mapping]]] = ...) -> None: ...

class GetPositionHistoryRequest(_message.Message):
    __slots__ = ("session_id", "max_transactions")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    max_transactions: int
    def __init__(self, session_id: _Optional[int] = ..., max_transactions: _Optional[int] = ...) -> None: ...

class PositionSample(_message.Message):
    __slots__ = ("network", "asset_address", "amount", "at", "transaction_id")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ASSET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    network: str
    asset_address: str
    amount: str
    at: _timestamp_pb2.Timestamp
    transaction_id: int
    def __init__(self, network: _Optional[str] = ..., asset_address: _Optional[str] = ..., amount: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transaction_id: _Optional[int] = ...) -> None: ...

class GetPositionHistoryResponse(_message.Message):
    __slots__ = ("start", "samples", "complete")
    START_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    start: _containers.RepeatedCompositeFieldContainer[PositionSample]
    samples: _containers.RepeatedCompositeFieldContainer[PositionSample]
    complete: bool
    def __init__(self, start: _Optional[_Iterable[_Union[PositionSample, _Mapping]]] = ..., samples: _Optional[_Iterable[_Union[PositionSample, _Mapping]]] = ..., complete: _Optional[bool] = ...) -> None: ...
