// Spec §5: the text cleanup CLIP applies before BPE (ftfy.fix_text, html.unescape ×2, whitespace collapse).
//
// ftfy.fix_text is reproduced for everything but its mojibake repair (fix_encoding and its sub-steps
// restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8) and its all-caps HTML entity names
// (&EACUTE;): HTML entities ending in ';' (skipped on a line from the first line holding '<' on), C1 controls as
// Windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks, lone surrogates, ANSI terminal
// escapes, control characters, NFC; all repeated until nothing changes, as ftfy does.
import { decodeHTML } from 'entities';

/** Python `regex`'s \s (Unicode White_Space); JS's \s differs (it adds U+FEFF and lacks U+0085). */
export const WHITESPACE_CLASS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WHITESPACE_RUNS = new RegExp(`[${WHITESPACE_CLASS}]+`, 'g');
const EDGE_WHITESPACE = new RegExp(`^[${WHITESPACE_CLASS}]+|[${WHITESPACE_CLASS}]+$`, 'g');

// Windows-1252 for bytes 0x80–0x9f; the five undefined bytes stay themselves (the "sloppy" codec and Python's
// html.unescape agree on that).
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,
  0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0x9d, 0x017e, 0x0178,
];

const LATIN_LIGATURES: Record<string, string> = {
  '\u0132': 'IJ', '\u0133': 'ij', '\u0149': '\u02bcn', '\u01f1': 'DZ', '\u01f2': 'Dz', '\u01f3': 'dz',
  '\u01c4': 'D\u017d', '\u01c5': 'D\u017e', '\u01c6': 'd\u017e', '\u01c7': 'LJ', '\u01c8': 'Lj', '\u01c9': 'lj',
  '\u01ca': 'NJ', '\u01cb': 'Nj', '\u01cc': 'nj', '\ufb00': 'ff', '\ufb01': 'fi', '\ufb02': 'fl', '\ufb03': 'ffi',
  '\ufb04': 'ffl', '\ufb05': '\u017ft', '\ufb06': 'st',
};

/** U+3000 and the full/half-width block U+FF01–U+FFEF mapped to their NFKC forms. */
function widthFix(ch: string): string {
  if (ch === '\u3000') return ' ';
  return ch.normalize('NFKC');
}

const HTML_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;
const C1_CONTROLS = /[\x80-\x9f]/g;
const LIGATURES = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
const WIDTH_FORMS = /[\u3000\uff01-\uffef]/g;
const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES = /[\u201c-\u201f]/g;
const LINE_BREAKS = /\r\n|[\r\u2028\u2029\x85]/g;
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANSI_ESCAPES = /\x1b\[[\d;]*[a-zA-Z]/g;
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
// Characters no step of the ftfy subset can touch: printable ASCII other than '&'.
const PLAIN_ASCII = /^[\x20-\x25\x27-\x7e]*$/;

/** One entity as ftfy decodes it: only complete entities that end with ';'. */
function ftfyEntity(entity: string): string {
  if (entity.startsWith('&#')) {
    const decoded = pythonHtmlUnescape(entity);
    return decoded.includes(';') ? entity : decoded;
  }
  const decoded = decodeHTML(entity);
  return decoded.endsWith(';') ? entity : decoded;
}

function fixSegment(segment: string, unescapeHtml: boolean): string {
  for (;;) {
    const before = segment;
    let text = unescapeHtml ? segment.replace(HTML_ENTITY, ftfyEntity) : segment;
    text = text
      .replace(C1_CONTROLS, (c) => String.fromCharCode(CP1252_HIGH[c.charCodeAt(0) - 0x80]))
      .replace(LIGATURES, (c) => LATIN_LIGATURES[c] ?? c)
      .replace(WIDTH_FORMS, widthFix)
      .replace(DOUBLE_QUOTES, '"')
      .replace(SINGLE_QUOTES, "'")
      .replace(LINE_BREAKS, '\n')
      .replace(LONE_SURROGATES, '\ufffd')
      .replace(ANSI_ESCAPES, '')
      .replace(CONTROL_CHARS, '')
      .normalize('NFC');
    segment = text;
    if (segment === before) return segment;
  }
}

/** ftfy.fix_text without mojibake repair (see the file comment). Works line by line, as ftfy does. */
export function fixText(text: string): string {
  if (PLAIN_ASCII.test(text)) return text;
  let out = '';
  let unescapeHtml = true;
  for (let pos = 0; pos < text.length; ) {
    const lineEnd = text.indexOf('\n', pos);
    const end = lineEnd < 0 ? text.length : lineEnd + 1;
    const segment = text.slice(pos, end);
    // ftfy turns HTML unescaping off for good once a segment holds '<'.
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}

/** Python's html.unescape for one numeric reference body (digits or x+hex). */
function numericReference(body: string): string {
  const code = body[0] === 'x' || body[0] === 'X' ? parseInt(body.slice(1), 16) : parseInt(body, 10);
  if (code === 0) return '\ufffd';
  if (code === 0x0d) return '\r';
  if (code >= 0x80 && code <= 0x9f) return String.fromCharCode(CP1252_HIGH[code - 0x80]);
  if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
  const invalid =
    (code >= 0x01 && code <= 0x08) || code === 0x0b || (code >= 0x0e && code <= 0x1f) || code === 0x7f ||
    (code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(code);
}

const PYTHON_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

/** Python's html.unescape: numeric references by Python's rules, named ones (with the HTML5 longest-prefix rule
 * for legacy names without ';') by the `entities` package. */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(PYTHON_CHARREF, (match, body: string) => {
    if (body[0] === '#') return numericReference(body.slice(1).replace(/;$/, ''));
    return decodeHTML(match);
  });
}

/** CLIP's basic_clean + whitespace_clean: fix_text, html.unescape twice, strip, collapse whitespace. */
export function clipCleanText(text: string): string {
  const fixed = fixText(text);
  const unescaped = fixed.includes('&') ? pythonHtmlUnescape(pythonHtmlUnescape(fixed)) : fixed;
  return unescaped.replace(WHITESPACE_RUNS, ' ').replace(EDGE_WHITESPACE, '');
}
