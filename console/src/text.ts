// Agent-made text (log lines, memory, suggestion messages, names) as the console shows it.
// Preact renders strings as text nodes, never as HTML, so markup is inert already; what is
// left are characters that change how text around them reads: bidirectional overrides and
// isolates (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) and control characters,
// among them terminal escapes (ESC [ ... m). They are shown as visible escapes instead.

const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function shown(text: string): string {
  return text.replace(HIDDEN, (c) => `\\u{${c.charCodeAt(0).toString(16).padStart(4, "0")}}`);
}

// The first `limit` characters of `text`, marked when cut.
export function clipped(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length - limit} more characters)` : text;
}
