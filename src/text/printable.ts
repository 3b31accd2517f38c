// Text that reaches a terminal or an SVG: control and invisible characters shown as \uXXXX escapes, and the test
// for an expression with nothing visible in it.

// C0 (but tab and newline when kept), DEL, C1, bidi overrides and isolates, lone surrogates: shown escaped.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNSAFE_WITH_LAYOUT = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with control characters written as visible `\uXXXX` escapes; `keepLayout` keeps tab and newline. */
export function printable(text: string, { keepLayout = false } = {}): string {
  return String(text).replace(keepLayout ? UNSAFE : UNSAFE_WITH_LAYOUT, escape);
}

// Nothing visible: white space, controls, format characters (zero-width space and joiners, BOM, soft hyphen,
// bidi marks, word joiner), variation selectors, the combining grapheme joiner, Hangul fillers, braille blank.
const INVISIBLE_ONLY = /^[\s\p{Cc}\p{Cf}\p{Z}\u034f\u115f\u1160\u3164\uffa0\u2800\ufe00-\ufe0f\u{e0100}-\u{e01ef}]*$/u;

/** Whether `text` has no visible character (empty, blanks, zero-width characters only, …). */
export function isBlank(text: string): boolean {
  return INVISIBLE_ONLY.test(text);
}
