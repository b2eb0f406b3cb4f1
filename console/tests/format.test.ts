// Unit tests of the console's text and number handling, run by node's own test runner after
// esbuild compiles them (tests/unit/test_console_units.py does both).
import { test } from "node:test";
import assert from "node:assert/strict";
import { clipped, shown } from "../src/text";
import { assetName, minus, safeLink, shortAddress, units } from "../src/format";

test("control, format and separator characters are shown as escapes", () => {
  assert.equal(shown("pay \u202etxt.exe\u202c"), "pay \\u{202e}txt.exe\\u{202c}");
  assert.equal(shown("\u2066reviewer\u2069 \u200bhidden \u00adsoft \ufeffbom"), "\\u{2066}reviewer\\u{2069} \\u{200b}hidden \\u{00ad}soft \\u{feff}bom");
  assert.equal(shown("\x1b[31mred\x07"), "\\u{001b}[31mred\\u{0007}");
  assert.equal(shown("one\ntwo\u2028three"), "one\\u{000a}two\\u{2028}three");
  assert.equal(shown("tag \u{e0041}"), "tag \\u{e0041}");
});

test("multiline text keeps its newlines and tabs, and nothing else hidden", () => {
  assert.equal(shown("a\n\tb\r\u202e", true), "a\n\tb\\u{000d}\\u{202e}");
});

test("plain text, markup and non-Latin scripts are left as they are", () => {
  for (const text of ["<script>x</script>", "javascript:alert(1)", "中文 العربية émoji 🎉"]) assert.equal(shown(text), text);
});

test("clipping says how much was cut", () => {
  assert.equal(clipped("abcdef", 4), "abcd… (2 more characters)");
  assert.equal(clipped("abc", 4), "abc");
});

test("amounts are written in whole units exactly, however large", () => {
  assert.equal(units("1500000000000000000", 18), "1.5");
  assert.equal(units("-37084556902000", 18), "-0.000037084556902");
  assert.equal(units("5", 6), "0.000005");
  assert.equal(units("1000000", 6), "1");
  assert.equal(units("115792089237316195423570985008687907853269984665640564039457584007913129639935", 18),
    "115792089237316195423570985008687907853269984665640564039457.584007913129639935");
  assert.equal(units("42", undefined), "42");
  assert.equal(units("not a number", 18), "not a number");
  assert.equal(minus("5", "7"), "-2");
  assert.equal(minus("x", "7"), "");
});

test("only http(s) becomes a link", () => {
  assert.equal(safeLink("https://etherscan.io/tx/0xab"), "https://etherscan.io/tx/0xab");
  for (const url of ["javascript:alert(1)", "data:text/html,x", "//evil.example", "", undefined]) assert.equal(safeLink(url), null);
});

test("assets are named by symbol, as native, or by a short address", () => {
  assert.equal(assetName("0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"), "native");
  assert.equal(assetName("11111111111111111111111111111111"), "native");
  assert.equal(assetName("0x" + "ab".repeat(20), "USDC"), "USDC");
  assert.equal(shortAddress("0x" + "ab".repeat(20)), "0xababab…abab");
});

test("a multi-select value is read as the platform reads it: a JSON array or commas", async () => {
  const { chosenOptions } = await import("../src/settings-form");
  assert.deepEqual(chosenOptions('["a", "b"]'), ["a", "b"]);
  assert.deepEqual(chosenOptions("a, b,,c"), ["a", "b", "c"]);
  assert.deepEqual(chosenOptions("low"), ["low"]);
  assert.deepEqual(chosenOptions("[not json"), ["[not json"]);
  assert.deepEqual(chosenOptions(""), []);
});
