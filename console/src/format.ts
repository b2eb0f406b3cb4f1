// How the console writes the platform's values: enum names, amounts in a token's units,
// times. One place, so every view says the same thing the same way.
import type { Timestamp } from "@bufbuild/protobuf/wkt";

// An enum value's name without its prefix, lowercase ("SESSION_STATUS_PAUSED" → "paused").
export function label(values: Record<string, string | number>, value: number, prefix: string): string {
  const name = Object.entries(values).find(([, v]) => v === value)?.[0] ?? String(value);
  return name.replace(prefix, "").toLowerCase();
}

// A smallest-unit integer string in whole units ("1500000000000000000", 18 → "1.5"); as it
// came when the decimals are unknown or it is not an integer.
export function units(amount: string, decimals?: number): string {
  if (decimals === undefined || !/^-?\d+$/.test(amount)) return amount;
  const negative = amount.startsWith("-");
  const digits = (negative ? amount.slice(1) : amount).padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

// Signed difference of two integer strings (a - b), as an integer string.
export function minus(a: string, b: string): string {
  try {
    return (BigInt(a) - BigInt(b)).toString();
  } catch {
    return "";
  }
}

export function when(at: Timestamp | undefined, withDate = false): string {
  if (!at) return "";
  const date = new Date(Number(at.seconds) * 1000);
  return withDate ? date.toLocaleString() : date.toLocaleTimeString();
}

// A link only to an http(s) address (the operator's block explorer); anything else is no link.
export function safeLink(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// The native coin's address on each kind of network (corral/networks.py) and its decimals,
// which are the chain's own (not a contract's answer).
const NATIVE_DECIMALS: Record<string, number> = { "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee": 18, "11111111111111111111111111111111": 9 };

export function nativeDecimals(address: string): number | undefined {
  return NATIVE_DECIMALS[address.toLowerCase()] ?? NATIVE_DECIMALS[address];
}

// "0x1234ab…cdef" for a long address (the whole one goes in a title).
export function shortAddress(address: string): string {
  return address.length > 16 ? `${address.slice(0, 8)}…${address.slice(-4)}` : address;
}

// An asset as a person names it: its symbol (untrusted text: the caller escapes it), "native"
// for the network's own coin, else the short address.
export function assetName(address: string, symbol?: string): string {
  if (symbol) return symbol;
  return nativeDecimals(address) !== undefined ? "native" : shortAddress(address);
}
