// Agent-made text (log lines, memory, suggestion messages, names) as the console shows it.
// Preact renders strings as text nodes, never as HTML, so markup is inert already; what is
// left are characters that change how text around them reads or hide in it: control characters
// (among them terminal escapes, ESC [ ... m), format characters (bidirectional overrides and
// isolates, zero-width characters, the soft hyphen, tag characters, the byte-order mark) and the
// line and paragraph separators. They are shown as visible escapes instead.

const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const HIDDEN_BUT_LINES = /[\p{Cf}\u2028\u2029\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;

// `multiline`: newlines and tabs stay (text the console laid out itself, e.g. indented JSON);
// otherwise they are escaped too, so one log line cannot pose as several.
export function shown(text: string, multiline = false): string {
  return text.replace(multiline ? HIDDEN_BUT_LINES : HIDDEN,
    (c) => `\\u{${c.codePointAt(0)!.toString(16).padStart(4, "0")}}`);
}

// The first `limit` characters of `text`, marked when cut.
export function clipped(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length - limit} more characters)` : text;
}
