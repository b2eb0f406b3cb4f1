"""What the frontend API accepts, checked for every request before its handler runs (the
boundary interceptor calls `check_request`), so no handler sees a value it cannot hold.

Walked from the message's descriptor, so a field added to a request is bounded without an
entry here: every string at most DEFAULT_TEXT_CHARS unless `TEXT_CHARS` says otherwise,
every repeated field and map at most DEFAULT_ITEMS entries unless `ITEMS` says otherwise,
every map key at most MAP_KEY_CHARS, every enum one of its values, every `page_size` 0 or
more. Then what the field means: amounts are 1 to AMOUNT_DIGITS ASCII digits (`AMOUNT_FIELDS`);
a `request_id` (the idempotency key of a mutating call) is 1 to 64 of [A-Za-z0-9_.:-].

A refusal is INVALID_ARGUMENT naming the field and the limit, with the field's path in a
google.rpc.BadRequest (orchestrator.errors); it quotes at most
QUOTED_CHARS of what was sent, and never a length-refused value (a secret's, say).
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from corral.limits import shortened
from orchestrator.egress.secrets import MAX_VALUE_BYTES as SECRET_VALUE_CHARS
from orchestrator.errors import invalid
from orchestrator.sessions.environment import MAX_VALUE_CHARS as ENVIRONMENT_VALUE_CHARS
from orchestrator.sessions.environment import MAX_VARIABLES as ENVIRONMENT_VARIABLES

# The largest request these bounds allow (64 settings of 4 KiB, 32 variables of 1 KiB) is
# about 300 KiB, well under what the server reads at all (config.API_MAX_REQUEST_BYTES).
QUOTED_CHARS = 40
DEFAULT_TEXT_CHARS = 256
DEFAULT_ITEMS = 64
MAP_KEY_CHARS = 64
# An integer amount in a token's smallest unit: 2**256 - 1 has 78 digits.
AMOUNT_DIGITS = 78
SETTING_VALUE_CHARS = 4096
# Wide enough for a UUID, a ULID or "console-42:7"; nothing a log line or a key could misread.
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

# By the field's full name; a map's limit applies to its values.
TEXT_CHARS: dict[str, int] = {
    "corral.v1.RegisterAgentRequest.image": 512,
    # Addresses and networks, which refusals further on quote: EVM addresses are 42
    # characters, Solana's at most 44; asset ids (a Polymarket token's) up to 78 digits.
    "corral.v1.StartSessionRequest.wallet_address": 64,
    "corral.v1.PositionRef.network": 64,
    "corral.v1.PositionRef.asset_address": 128,
    "corral.v1.StartSessionRequest.settings": SETTING_VALUE_CHARS,
    "corral.v1.StartSessionRequest.environment": ENVIRONMENT_VALUE_CHARS,
    # UpdateSession sends a Session: what GetSession returned must pass back.
    "corral.v1.Session.settings": SETTING_VALUE_CHARS,
    "corral.v1.Session.environment": ENVIRONMENT_VALUE_CHARS,
    # The breakers' form is checked by their model (orchestrator.actions.breakers).
    "corral.v1.SessionBreakers.max_loss": AMOUNT_DIGITS,
    "corral.v1.SessionBreakers.max_loss_percent": 32,
    "corral.v1.SetSessionSecretRequest.value": SECRET_VALUE_CHARS,
    "corral.v1.HaltPlatformRequest.reason": 1000,
    # Destinations (orchestrator/notifications/destinations.py checks their form).
    "corral.v1.CreateSubscriptionRequest.webhook_url": 2048,
    "corral.v1.CreateSubscriptionRequest.apprise_url": 2048,
    "corral.v1.CreateSubscriptionRequest.events": 32,
}
ITEMS: dict[str, int] = {
    "corral.v1.StartSessionRequest.environment": ENVIRONMENT_VARIABLES,
    "corral.v1.Session.environment": ENVIRONMENT_VARIABLES,
    "corral.v1.CreateSubscriptionRequest.events": 16,
}
AMOUNT_FIELDS = frozenset({"corral.v1.StartSessionRequest.allocation_amount", "corral.v1.PromoteSessionRequest.allocation_amount"})


def quoted(value: str) -> str:
    """A refused value as a message shows it: at most its first QUOTED_CHARS characters."""
    return repr(shortened(value, QUOTED_CHARS))


def check_request(request: Message) -> None:
    """Raises Refused (INVALID_ARGUMENT) for the first field out of bounds."""
    _check_message(request, "")


def _check_message(message: Message, path: str) -> None:
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            _check_map(field, value, name)
        elif _is_repeated(field):
            _check_count(field, len(value), name)
            for index, item in enumerate(value):
                _check_value(field, item, f"{name}[{index}]")
        else:
            _check_value(field, value, name)


def _is_repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated


def _check_count(field: FieldDescriptor, count: int, name: str) -> None:
    limit = ITEMS.get(field.full_name, DEFAULT_ITEMS)
    if count > limit:
        raise invalid(f"{name} has {count} entries; at most {limit}", field=name)


def _check_map(field: FieldDescriptor, entries, name: str) -> None:
    _check_count(field, len(entries), name)
    value_field = field.message_type.fields_by_name["value"]
    for key in entries:
        if isinstance(key, str) and len(key) > MAP_KEY_CHARS:
            raise invalid(f"{name} key {quoted(key)} is {len(key)} characters; a key is at most {MAP_KEY_CHARS}", field=name)
        if value_field.type == FieldDescriptor.TYPE_STRING:
            _check_text(field, entries[key], f"{name}[{shortened(str(key), QUOTED_CHARS)!r}]")
        elif value_field.type == FieldDescriptor.TYPE_MESSAGE:
            _check_message(entries[key], f"{name}[{shortened(str(key), QUOTED_CHARS)!r}].")


def _check_value(field: FieldDescriptor, value, name: str) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        _check_text(field, value, name)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        _check_message(value, f"{name}.")
    elif field.type == FieldDescriptor.TYPE_ENUM:
        _check_enum(field, value, name)
    elif field.name == "page_size" and value < 0:
        raise invalid(f"{name} must be 0 (the default page) or more, not {value}", field=name)


def _check_text(field: FieldDescriptor, value: str, name: str) -> None:
    if field.name == "request_id":
        if not REQUEST_ID.fullmatch(value):
            raise invalid(f"{name} must be 1 to 64 characters of A-Z, a-z, 0-9 and _.:- (a UUID will do), "
                          f"or empty for none; got {len(value)} characters", field=name)
        return
    if field.full_name in AMOUNT_FIELDS:
        if not (value.isascii() and value.isdigit() and len(value) <= AMOUNT_DIGITS):
            raise invalid(f"{name} {quoted(value)} must be an integer in the asset's smallest unit: 1 to {AMOUNT_DIGITS} "
                          "ASCII digits 0-9 and nothing else, e.g. \"1000000\"", field=name)
        return
    limit = TEXT_CHARS.get(field.full_name, DEFAULT_TEXT_CHARS)
    if len(value) > limit:
        raise invalid(f"{name} is {len(value)} characters; at most {limit}", field=name)


def _check_enum(field: FieldDescriptor, value: int, name: str) -> None:
    enum = field.enum_type
    if value not in enum.values_by_number:
        known = ", ".join(f"{v.name} ({v.number})" for v in enum.values if v.number != 0)
        raise invalid(f"{name} {value} is not a {enum.name}: give {known}, or leave it unset", field=name)
