"""Argument rules: what a contract call may say, checked on its ABI-decoded arguments.

A function rule names a function by its Solidity signature with argument names, e.g.
`swapExactTokensForTokens(uint256 amountIn,uint256 amountOutMin,address[] path,address to,uint256 deadline)`,
and constrains arguments by name:

- `equals`          the argument is exactly this value; "$wallet" is the signing wallet
- `one_of`          the argument is one of these values ("$wallet" allowed); on an array, every element
- `min` / `max`     an integer argument's bounds (inclusive)
- `within_seconds`  a deadline: at most the signer's clock + this many seconds
- `recipient`       an address funds go to: the wallet, or one of the policy's `allowed_recipients`
                    (any address when the policy lists none)
- `spends`          this integer argument is an amount of a token that leaves the wallet: the
                    token is "$contract" (the called contract is the token itself, as in
                    ERC-20 `transfer`), a token address, or another argument ("path[0]" — the
                    first element of the `path` array; "path[-1]" the last). A token other than
                    the called contract leaves through the wallet's allowance to the called
                    contract (a router pulling `amountIn`).

Calldata is decoded with eth-abi in strict mode; calldata that does not decode as the
signature says is refused, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signer.policy.values import WALLET, Amount, amount, evm_address

_SIGNATURE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$")
_BASE_TYPE = re.compile(r"^(address|bool|string|bytes([1-9]|[12][0-9]|3[0-2])?|u?int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|200|208|216|224|232|240|248|256)?)$")
_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(-?[0-9]{1,3})\])?$")
CONTRACT = "$contract"


@dataclass(frozen=True)
class Parameter:
    type: str
    name: str

    @property
    def base(self) -> str:
        return self.type.split("[", 1)[0]

    @property
    def is_array(self) -> bool:
        return "[" in self.type

    @property
    def is_integer(self) -> bool:
        return self.base.startswith(("uint", "int")) and not self.is_array


def parse_signature(text: str) -> tuple[str, tuple[Parameter, ...]]:
    """("name", parameters) of "name(type name,...)"; raises ValueError saying what is wrong."""
    match = _SIGNATURE.match(text.replace(", ", ","))
    if not match:
        raise ValueError(f"{text!r} is not a function signature such as \"transfer(address to,uint256 amount)\"")
    name, inside = match.groups()
    if "(" in inside:
        raise ValueError(f"in {text!r}: tuple (struct) arguments are not supported; list the contract by selector instead")
    parameters = []
    for part in filter(None, inside.split(",")):
        pieces = part.strip().split()
        if len(pieces) != 2:
            raise ValueError(f"in {text!r}, parameter {part!r} must be written as \"type name\" (e.g. \"address to\")")
        kind, arg = pieces
        base, _, dims = kind.partition("[")
        if not _BASE_TYPE.match(base) or (dims and not re.fullmatch(r"([0-9]*\])(\[[0-9]*\])*", dims)):
            raise ValueError(f"in {text!r}: {kind!r} is not an ABI type")
        parameters.append(Parameter(kind, arg))
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        raise ValueError(f"in {text!r}: every parameter needs its own name")
    return name, tuple(_normalised(p) for p in parameters)


def _normalised(parameter: Parameter) -> Parameter:
    base, bracket, dims = parameter.type.partition("[")
    if base in ("uint", "int"):
        base += "256"
    return Parameter(base + bracket + dims, parameter.name)


class ArgumentRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    equals: str | None = None
    one_of: list[str] | None = Field(default=None, min_length=1)
    min: Amount | None = None
    max: Amount | None = None
    within_seconds: int | None = Field(default=None, ge=1)
    recipient: bool = False
    spends: str | None = None

    @model_validator(mode="after")
    def _some_rule(self) -> ArgumentRule:
        kinds = (self.equals, self.one_of, self.min, self.max, self.within_seconds, self.spends)
        if all(kind is None for kind in kinds) and not self.recipient:
            raise ValueError("an argument rule needs at least one of equals, one_of, min, max, within_seconds, recipient, spends")
        return self


class FunctionRule(BaseModel):
    """One function of a contract the wallet may call, with rules on its arguments."""

    model_config = ConfigDict(extra="forbid")

    signature: str
    arguments: dict[str, ArgumentRule] = Field(default_factory=dict)

    @field_validator("signature")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_signature(value)
        return value

    @model_validator(mode="after")
    def _arguments_exist(self) -> FunctionRule:
        parameters = {p.name: p for p in self.parameters}
        for name, rule in self.arguments.items():
            parameter = parameters.get(name)
            if parameter is None:
                raise ValueError(f"{self.signature}: there is no argument named {name!r} (arguments: {', '.join(parameters) or 'none'})")
            if (rule.min is not None or rule.max is not None or rule.within_seconds is not None) and not parameter.is_integer:
                raise ValueError(f"{self.signature}: {name!r} is {parameter.type}; min, max and within_seconds need an integer")
            if rule.spends and not (parameter.is_integer and parameter.base.startswith("uint")):
                raise ValueError(f"{self.signature}: {name!r} is {parameter.type}; spends needs an unsigned integer (uint) amount")
            if (rule.recipient or WALLET in [rule.equals, *(rule.one_of or [])]) and parameter.base != "address":
                raise ValueError(f"{self.signature}: {name!r} is {parameter.type}; recipient and $wallet need an address")
            for value in ([rule.equals] if rule.equals is not None else []) + (rule.one_of or []):
                _literal(parameter, value)  # raises when the value cannot be that type
            if rule.spends and rule.spends != CONTRACT:
                _token_reference(rule.spends, parameters, self.signature)
        return self

    @cached_property
    def parameters(self) -> tuple[Parameter, ...]:
        return parse_signature(self.signature)[1]

    @cached_property
    def selector(self) -> str:
        name, parameters = parse_signature(self.signature)
        canonical = f"{name}({','.join(p.type for p in parameters)})"
        return "0x" + function_signature_to_4byte_selector(canonical).hex()


def _token_reference(reference: str, parameters: dict[str, Parameter], signature: str) -> None:
    if reference.startswith("0x"):
        evm_address(reference)
        return
    match = _REFERENCE.match(reference)
    target = parameters.get(match.group(1)) if match else None
    if match is None or target is None or target.base != "address" or (target.is_array != (match.group(2) is not None)):
        raise ValueError(
            f"{signature}: spends {reference!r} must be \"$contract\", a token address, or an address argument "
            "(an element of an address array as name[index])"
        )


def _literal(parameter: Parameter, value: str) -> object:
    """A rule's literal as the decoded argument would be."""
    if value == WALLET:
        return value
    if parameter.base == "address":
        return evm_address(value)
    if parameter.base.startswith(("uint", "int")):
        return amount(value)
    if parameter.base == "bool":
        if value not in ("true", "false"):
            raise ValueError(f"{parameter.name}: {value!r} must be \"true\" or \"false\"")
        return value == "true"
    raise ValueError(f"{parameter.name} is {parameter.type}: only address, integer and bool arguments can be compared")


@dataclass(frozen=True)
class TokenOutflow:
    """An amount of `token` an allowed call moves out of the wallet; `via_allowance` when the
    called contract pulls it through the wallet's allowance (else the token's own transfer)."""

    token: str
    amount: int
    via_allowance: bool


@dataclass(frozen=True)
class CallCheck:
    refusal: str | None
    outflows: tuple[TokenOutflow, ...] = ()


def check_call(rule: FunctionRule, contract: str, data: bytes, wallet: str, recipients: list[str] | None, now: float) -> CallCheck:
    """Decodes `data` as `rule`'s function and applies its argument rules."""
    try:
        values = decode([p.type for p in rule.parameters], data[4:], strict=True)
    except (DecodingError, ValueError, OverflowError) as exc:
        return CallCheck(f"the calldata does not decode as {rule.signature}: {exc}")
    decoded = {p.name: _plain(v) for p, v in zip(rule.parameters, values, strict=True)}
    parameters = {p.name: p for p in rule.parameters}
    wallet = wallet.lower()
    outflows: list[TokenOutflow] = []
    for name, argument in rule.arguments.items():
        value, parameter = decoded[name], parameters[name]
        items = value if isinstance(value, list) else [value]
        problem = _check_argument(argument, parameter, items, wallet, recipients, now)
        if problem:
            return CallCheck(f"{_function_name(rule)} argument {name!r}: {problem}")
        if argument.spends:
            token = _resolve_token(argument.spends, contract, decoded)
            if token is None:
                return CallCheck(f"{_function_name(rule)} argument {name!r}: the token it spends ({argument.spends}) is not in the call")
            # `spends` is only allowed on a uint argument (FunctionRule checks), so the value is an int.
            outflows.append(TokenOutflow(token, cast(int, value), via_allowance=token != contract))
    return CallCheck(None, tuple(outflows))


def _check_argument(rule: ArgumentRule, parameter: Parameter, items: list[Any], wallet: str, recipients: list[str] | None,
                    now: float) -> str | None:
    def expected(literal: str) -> object:
        return wallet if literal == WALLET else _literal(parameter, literal)

    for item in items:
        if rule.equals is not None and item != expected(rule.equals):
            return f"{item} is not {rule.equals}"
        if rule.one_of is not None and item not in [expected(v) for v in rule.one_of]:
            return f"{item} is not one of {', '.join(rule.one_of)}"
        if rule.min is not None and item < rule.min:
            return f"{item} is below the minimum {rule.min}"
        if rule.max is not None and item > rule.max:
            return f"{item} is above the maximum {rule.max}"
        if rule.within_seconds is not None and item > now + rule.within_seconds:
            return f"deadline {item} is more than {rule.within_seconds}s after the signer's clock ({int(now)})"
        if rule.recipient and item != wallet and recipients is not None and item not in recipients:
            return f"{item} is neither the wallet nor one of the policy's allowed_recipients"
    return None


def _resolve_token(reference: str, contract: str, decoded: dict[str, object]) -> str | None:
    if reference == CONTRACT:
        return contract
    if reference.startswith("0x"):
        return reference.lower()
    match = _REFERENCE.match(reference)
    assert match is not None  # FunctionRule checked every reference (_token_reference)
    name, index = match.groups()
    # An address argument, or an address array when indexed (_token_reference checks).
    value = decoded[name]
    if index is None:
        return cast(str, value)
    try:
        return cast("list[str]", value)[int(index)]
    except IndexError:
        return None


def _plain(value: object) -> object:
    """eth-abi's values with addresses lower-cased and arrays as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


def _function_name(rule: FunctionRule) -> str:
    return rule.signature.split("(", 1)[0]
