// Characters a host must not get onto an operator's screen: the one class, its escape, and a zod schema for bounded printable text.
import { z } from 'zod';

/**
 * C0 (ESC, BEL, CR, LF, TAB...), DEL and C1 (CSI, OSC as single bytes) drive terminals: clear a table,
 * set the window title, write the clipboard (OSC 52). Bidi overrides and isolates reorder what follows
 * them; zero-width and invisible characters hide text or make two names look the same.
 */
const UNSAFE_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb';
const UNSAFE = new RegExp(`[${UNSAFE_CLASS}]`, 'u');
const UNSAFE_ALL = new RegExp(`[${UNSAFE_CLASS}]`, 'gu');

/** True when `s` holds no control, bidi or invisible character. */
export function isPrintable(s: string): boolean {
  return !UNSAFE.test(s);
}

/** Show every unsafe character as a visible escape (`\x1b`, `\u202e`) so the text is inert on a terminal. */
export function escapeUnsafeChars(s: string): string {
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE_ALL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * JSON text with every unsafe character written as a `\uXXXX` escape: the same value for a parser, inert on a
 * terminal (JSON.stringify leaves C1, bidi and zero-width characters raw). Valid only on JSON text, where
 * such characters can only sit inside strings.
 */
export function escapeUnsafeJson(json: string): string {
  // Raw TAB, LF and CR in JSON text are layout (JSON.stringify escapes them inside strings).
  return json.replace(UNSAFE_ALL, (c) => (c === '\n' || c === '\t' || c === '\r' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Escaped and cut to `max` characters: for free text a host reports about itself (error messages, step details). */
export function boundText(s: string, max: number): string {
  const escaped = escapeUnsafeChars(s);
  if (escaped.length <= max) return escaped;
  let end = max - 1;
  if (/[\ud800-\udbff]/.test(escaped.charAt(end - 1))) end -= 1; // never leave half a surrogate pair
  return `${escaped.slice(0, end)}…`;
}

const PRINTABLE_MESSAGE = 'must not contain control, bidi-override or zero-width characters';

/** A string of at most `max` characters with nothing that drives a terminal or reorders text. */
export function printableString(max: number): z.ZodString {
  return z.string().max(max).regex(new RegExp(`^[^${UNSAFE_CLASS}]*$`, 'u'), { message: PRINTABLE_MESSAGE });
}
