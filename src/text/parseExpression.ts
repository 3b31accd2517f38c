// Spec §6: expression parsing (the reference uses spaCy en_core_web_lg; this approximates its parse of referring
// expressions with wink-nlp's tokens and parts of speech plus a small dependency grammar of our own).
//
// What the reference reads from spaCy, and how it is approximated here:
// - tokens: wink-nlp's tokenizer plus the splits where spaCy's English tokenizer differs, and spaCy's whitespace
//   tokens (checked against spacy.blank("en") in test/fixtures/text/spacy_tokens.json). Chunk texts are joined
//   with single spaces, so a chunk spanning a whitespace token differs from spaCy's in whitespace only.
// - the syntactic head of each token. Referring expressions are mostly noun phrases with prepositional phrases,
//   participles and relative clauses, parsed as spaCy's English models do:
//   * inside a noun phrase every premodifier (determiner, adjective, compound noun, number, spatial word as in
//     "left guy" / "bottom left corner") depends on the phrase's last noun;
//   * a preposition depends on the nearest preceding noun or verb (low attachment); its object noun on it;
//   * a participle after a noun ("woman holding umbrella") depends on that noun (acl); its object on it;
//   * a finite verb or copula after the first noun phrase is the root, that phrase its subject;
//   * "who/that/which" + verb: the verb depends on the noun before the pronoun, the pronoun on the verb;
//   * bare spatial words after a noun phrase ("white shirt right", "chair top left") depend on the last of them,
//     which depends on the phrase's noun; a bare spatial word or colour after a preposition ("on left", "in
//     black") is that preposition's object noun.
// - noun chunks: spaCy's rule (a NOUN/PROPN/PRON whose relation is subject, object, prepositional object,
//   attribute, apposition, root, or a conjunct of one; the span from its leftmost descendant to itself).
// Guesses about spaCy that the labels in test/fixtures/text/parse_corpus.json share (no spaCy model runs here):
// a colour alone after a preposition is a noun, so "man in black" has the other noun "black"; a lone adjective
// root ("red", "second from left") is in no chunk, so the noun phrase is the whole sentence; several prepositional
// phrases attach low; "that" as a relative pronoun is a PRON chunk (and, unlike who/which, an other noun).
// Then the reference's own functions are reproduced exactly: extract_noun_phrase, extract_nouns,
// extract_dir_phrase and extract_rela_word (keyword sets, first-lowest-head precedence, QUIRK right-never).
import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { WHITESPACE_CLASS } from './textCleanup.ts';

export type Position = 'left' | 'right' | 'middle' | 'up' | 'down' | 'none';
export type Relation = 'left' | 'right' | 'up' | 'down' | 'big' | 'small' | 'within' | 'none';

export interface ParseOptions {
  quirks?: {
    /** QUIRK right-never (default true): the reference compares a token to the RIGHT set with `==`, so the
     * relation 'right' never fires. false: treat right/east like the other keyword sets. */
    rightNever?: boolean;
  };
}

export interface ParsedToken {
  text: string;
  /** Universal part of speech after the domain corrections below. */
  pos: string;
  /** Index of the syntactic head (itself for the root). */
  head: number;
  /** Approximate spaCy dependency label. */
  dep: string;
}

export interface ParsedExpression {
  tokens: string[];
  /** The reference's sentence: lowercase tokens joined by single spaces. */
  sentence: string;
  nounPhrase: string;
  headNoun: string;
  otherNounPhrases: string[];
  otherNouns: string[];
  position: Position;
  relation: Relation;
  /** The approximate dependency parse the fields were read from. */
  parse: ParsedToken[];
}

export const RELATION_WORDS: ReadonlySet<string> = new Set([
  'left', 'west', 'right', 'east', 'above', 'north', 'top', 'back', 'behind', 'below', 'south', 'under', 'front',
  'bigger', 'larger', 'closer', 'smaller', 'tinier', 'further', 'inside', 'within', 'contained', 'who', 'what',
  'which', 'middle',
]);
export const NULL_KEYWORDS: ReadonlySet<string> = new Set([
  'part', 'image', 'side', 'picture', 'half', 'region', 'section', 'photo',
]);

/** Position keyword sets of extract_dir_phrase, in the reference's test order. */
const POSITION_KEYWORDS: ReadonlyArray<[Position, ReadonlySet<string>]> = [
  ['left', new Set(['left'])],
  ['right', new Set(['right'])],
  ['middle', new Set(['middle', 'between'])],
  ['up', new Set(['up', 'top', 'above'])],
  ['down', new Set(['down', 'under', 'bottom', 'low'])],
];
/** Relation keyword sets of extract_rela_word, in the reference's test order. */
const RELATION_KEYWORDS: ReadonlyArray<[Relation, ReadonlySet<string>]> = [
  ['left', new Set(['left', 'west'])],
  ['right', new Set(['right', 'east'])],
  ['up', new Set(['above', 'north', 'top', 'back', 'behind'])],
  ['down', new Set(['below', 'south', 'under', 'front'])],
  ['big', new Set(['bigger', 'larger', 'closer'])],
  ['small', new Set(['smaller', 'tinier', 'further', 'smallest'])],
  ['within', new Set(['inside', 'within', 'contained'])],
];

/** Words naming a place in the picture: a premodifier before a noun, a noun after a preposition or alone. */
const SPATIAL = new Set([
  'left', 'right', 'top', 'bottom', 'middle', 'center', 'centre', 'front', 'back', 'corner', 'upper', 'lower',
  'far', 'leftmost', 'rightmost', 'most',
]);
/** Nouns ending in -ing that must not be read as participles. */
const ING_NOUNS = new Set([
  'building', 'clothing', 'ceiling', 'painting', 'icing', 'frosting', 'topping', 'railing', 'awning', 'ring', 'king',
  'wing', 'thing', 'string', 'spring', 'swing', 'evening', 'morning', 'wedding', 'pudding', 'sibling', 'stuffing',
  'filling', 'stocking', 'bedding', 'something', 'nothing', 'anything', 'everything', 'lighting', 'parking',
  'sling', 'earring', 'ping', 'seating', 'dining', 'shopping', 'wiring', 'landing', 'opening', 'siding',
]);
const HYPHENS = new Set(['-', '\u2013', '\u2014']);
const BE_FORMS = new Set(['is', 'are', 'was', 'were', 'be', 'being', 'been']);
const RELATIVE_PRONOUNS = new Set(['who', 'that', 'which']);
/** Colours: alone after a preposition ("man in black") the tagger reads them as nouns. */
const COLOURS = new Set([
  'red', 'blue', 'green', 'black', 'white', 'yellow', 'pink', 'purple', 'orange', 'brown', 'gray', 'grey', 'tan',
  'beige', 'silver', 'gold', 'golden', 'maroon', 'navy', 'teal',
]);
const POSSESSIVE_PRONOUNS = new Set(['his', 'her', 'its', 'their', 'my', 'your', 'our']);
const NOMINAL_POS = new Set(['NOUN', 'PROPN', 'PRON']);
const NP_DEPS = new Set(['nsubj', 'dobj', 'nsubjpass', 'pcomp', 'pobj', 'dative', 'appos', 'attr', 'ROOT', 'oprd']);

let nlp: ReturnType<typeof winkNLP> | null = null;

function tagger(): ReturnType<typeof winkNLP> {
  nlp ??= winkNLP(model);
  return nlp;
}

interface Tok {
  text: string;
  pos: string;
  head: number;
  dep: string;
}

// spaCy's English tokenizer on lowercase text, where it differs from wink-nlp's (checked against spacy.blank("en")).
const SPACY_UNITS = 'km|m|dm|cm|mm|ha|nm|yd|in|ft|kg|g|mg|t|lb|oz|mph|kmh|hpa|pa|mbar|mb|kb|gb|tb';
const NUMBER_UNIT = new RegExp(`(?<![\\p{L}\\p{N}.])(\\d+)(${SPACY_UNITS}|am|pm)(?![\\p{L}\\p{N}])`, 'gu');
/** Abbreviations spaCy keeps whole; from other lowercase words it splits the final period ("mr .", "u.s ."). */
const KEEP_PERIOD = new Set(['vs.', 'e.g.', 'i.e.', 'a.m.', 'p.m.']);
const CONTRACTIONS: Record<string, string> = { gonna: 'gon na', gotta: 'got ta', "y'all": "y' all", "c'mon": "c'm on" };

/** Splits spaCy makes and wink-nlp does not: hyphens between a letter or digit and a letter ("left - most"),
 * operators between digits ("1 - 2"), the
 * clitics 'm 're 've 'll 'd ("i 'm"), numbers from units and am/pm ("10 pm"), final periods of abbreviations, and a
 * few contractions ("gon na"). */
function spacySplits(text: string): string {
  return text
    .replace(/(?<=[\p{L}\p{N}])([-\u2013\u2014])(?=\p{L})/gu, ' $1 ')
    .replace(/(?<=[0-9])([-+*^])(?=[0-9-])/g, ' $1 ')
    .replace(/(?<=\p{L})('m|'re|'ve|'ll|'d)(?![\p{L}\p{N}])/gu, ' $1')
    .replace(NUMBER_UNIT, (whole, n: string, unit: string) =>
      (unit === 'am' || unit === 'pm') && !(+n >= 1 && +n <= 12) ? whole : `${n} ${unit}`)
    .replace(/(?<![\p{L}\p{N}.'])(\p{L}[\p{L}.]*\p{L})\.(?![\p{L}\p{N}.])/gu, (whole, word: string) =>
      KEEP_PERIOD.has(whole) ? whole : `${word} .`)
    .replace(/(?<![\p{L}'])(gonna|gotta|y'all|c'mon)(?![\p{L}'])/gu, (word: string) => CONTRACTIONS[word]);
}

/** Python's str.isspace, which spaCy's tokenizer splits on. */
const PY_WHITESPACE_RUNS = new RegExp(`[${WHITESPACE_CLASS}\\x1c-\\x1f]+`, 'g');

/** spaCy's tokens of the lowercased text without the tokens that are exactly one space (the reference drops those),
 * and the tagged words among them. spaCy lets the word before a whitespace run own its first space and makes the
 * rest of the run one token ("a   b" → a, "  ", b); a leading run is a token whole. */
function referenceTokens(lower: string): { tokens: string[]; tagged: Tok[] } {
  const words: string[] = [];
  const spaceTokens: string[] = []; // spaceTokens[k]: whitespace token before words[k] ('' for none)
  let pos = 0;
  for (const run of lower.matchAll(PY_WHITESPACE_RUNS)) {
    const start = run.index ?? 0;
    if (start > pos) words.push(lower.slice(pos, start));
    const leading = words.length === 0;
    spaceTokens[words.length] = leading || run[0][0] !== ' ' ? run[0] : run[0].slice(1);
    pos = start + run[0].length;
  }
  if (pos < lower.length) words.push(lower.slice(pos));
  const pieces = words.map(spacySplits);
  const tagged = tagTokens(pieces.join(' '));
  // Put the whitespace tokens back between the tokens of each whitespace-delimited word.
  const tokens: string[] = [];
  let t = 0;
  pieces.forEach((piece, k) => {
    if (spaceTokens[k] && spaceTokens[k] !== ' ') tokens.push(spaceTokens[k]);
    const target = piece.replace(/ /g, '');
    let covered = 0; // target's prefix of this length is covered by tokens (offsets keep a long word linear)
    while (t < tagged.length && covered !== target.length && target.startsWith(tagged[t].text, covered)) {
      covered += tagged[t].text.length;
      tokens.push(tagged[t++].text);
    }
  });
  while (t < tagged.length) tokens.push(tagged[t++].text); // only if the tagger changed a word's characters
  if (spaceTokens[words.length] && spaceTokens[words.length] !== ' ') tokens.push(spaceTokens[words.length]);
  return { tokens, tagged };
}

/** wink-nlp's tokenizer takes time quadratic in a word's length: a run of more non-space characters than any word
 *  has ("aaaa…", "a.a.a.…", a long unspaced script) is one token, tagged as the stand-in word it is replaced by. */
const LONGEST_TAGGED_WORD = 64;
const LONG_WORD = new RegExp(`\\S{${LONGEST_TAGGED_WORD + 1},}`, 'g');
const LONG_WORD_STAND_IN = 'LONGWORD'; // upper case: the text given to the tagger is lower case, so it is never a word of its own

/** Tokens and parts of speech, with corrections for the vocabulary of referring expressions. */
function tagTokens(text: string): Tok[] {
  const engine = tagger();
  const longWords: string[] = [];
  const doc = engine.readDoc(text.replace(LONG_WORD, (w) => {
    longWords.push(w);
    return LONG_WORD_STAND_IN;
  }));
  const words = doc.tokens().out() as string[];
  const tags = doc.tokens().out(engine.its.pos) as string[];
  const toks: Tok[] = [];
  let nextLong = 0;
  words.forEach((w, i) => {
    if (w.trim() === '') return;
    toks.push({ text: w === LONG_WORD_STAND_IN && nextLong < longWords.length ? longWords[nextLong++] : w, pos: tags[i], head: -1, dep: '' });
  });
  toks.forEach((t, i) => {
    const prev = toks[i - 1];
    const next = toks[i + 1];
    const nextNominal = next !== undefined && (next.pos === 'NOUN' || next.pos === 'PROPN');
    if (SPATIAL.has(t.text) && t.text !== 'most' && t.text !== 'far') {
      // "left guy", "on the left", "bottom left": a noun; "left blue": a modifier of the adjective.
      t.pos = next?.pos === 'ADJ' && !SPATIAL.has(next.text) ? 'ADJ' : 'NOUN';
    } else if (t.pos === 'ADV' && /er$/.test(t.text) && next && ['NOUN', 'NUM', 'PROPN'].includes(next.pos)) {
      t.pos = 'ADJ'; // "the closer one"
    } else if (t.pos === 'NOUN' && /ing$/.test(t.text) && !ING_NOUNS.has(t.text) && prev &&
      (['NOUN', 'PROPN', 'PRON', 'AUX'].includes(prev.pos) || COLOURS.has(prev.text))) {
      t.pos = 'VERB'; // "woman standing behind ...", "is standing": a participle, not a noun
    } else if (t.pos === 'VERB' && prev && (['DET', 'ADJ', 'NUM'].includes(prev.pos) ||
      (SPATIAL.has(prev.text) && (nextNominal || !/ing$/.test(t.text))))) {
      // "the standing man" / "back guy" / "back row left": a verb form inside a noun phrase.
      t.pos = nextNominal ? 'ADJ' : 'NOUN';
    } else if (t.pos === 'NOUN' && /(ed|en)$/.test(t.text) && prev && BE_FORMS.has(prev.text)) {
      t.pos = 'VERB'; // "being ridden": a passive participle
    } else if (t.text === 'to' && t.pos === 'PART' && prev?.pos === 'ADJ' && next?.pos === 'VERB') {
      t.pos = 'ADP'; // "closest to shore", "next to"
      next.pos = 'NOUN';
    } else if (t.pos === 'VERB' && /(ed|en)$/.test(t.text) && nextNominal) {
      t.pos = 'ADJ'; // "half eaten sandwich", "parked car": a participle used as an adjective
    } else if (t.pos === 'VERB' && prev?.pos === 'VERB' && /ing$/.test(prev.text) && !/ing$/.test(t.text)) {
      t.pos = 'NOUN'; // "eating leaves": the object of a participle
    } else if (t.pos === 'NUM' && prev && ['DET', 'ADJ', 'ADV'].includes(prev.pos) && !nextNominal &&
      /^[a-z]+$/.test(t.text)) {
      t.pos = 'NOUN'; // "the one"
    }
  });
  return toks;
}

const PREMODIFIER_POS = new Set(['DET', 'ADJ', 'NUM', 'NOUN', 'PROPN']);

function isPremodifier(t: Tok): boolean {
  return t.text !== 'whose' && (PREMODIFIER_POS.has(t.pos) || POSSESSIVE_PRONOUNS.has(t.text) || t.text === "'s" ||
    (t.pos === 'ADV' && (t.text === 'most' || t.text === 'far' || t.text === 'very')));
}

function isParticiple(t: Tok): boolean {
  return t.pos === 'VERB' && (/(ing|ed)$/.test(t.text) || ['worn', 'seen', 'left', 'held', 'shown'].includes(t.text));
}

/** A noun phrase found in the token list: [start, end] inclusive, its head (last noun) or -1 when it has none. */
interface Phrase {
  start: number;
  end: number;
  head: number;
}

/** Groups premodifiers and nouns into phrases; splits trailing bare spatial words off ("white shirt right"). */
function findPhrases(toks: Tok[]): Phrase[] {
  const phrases: Phrase[] = [];
  for (let i = 0; i < toks.length; ) {
    const startsPhrase = isPremodifier(toks[i]) || toks[i].text === 'whose';
    if (!startsPhrase || (toks[i].pos === 'PRON' && !POSSESSIVE_PRONOUNS.has(toks[i].text))) {
      i++;
      continue;
    }
    let end = i;
    for (;;) {
      const next = toks[end + 1];
      const after = toks[end + 2];
      if (next && isPremodifier(next)) end++;
      // "black and white cow", "t - shirt": coordinated adjectives and hyphenated words stay in the phrase
      else if (next?.pos === 'CCONJ' && toks[end].pos === 'ADJ' && after?.pos === 'ADJ') end += 2;
      else if (next && HYPHENS.has(next.text) && after && isPremodifier(after)) end += 2;
      else break;
    }
    // The head is the last nominal of the run; words after it (numbers: "number 18") are not in the phrase.
    let head = -1;
    for (let k = end; k >= i; k--) {
      if (toks[k].pos === 'NOUN' || toks[k].pos === 'PROPN') {
        head = k;
        break;
      }
    }
    const afterPreposition = i > 0 && toks[i - 1].pos === 'ADP';
    if (head < 0 && afterPreposition && toks[end].pos === 'ADJ' && COLOURS.has(toks[end].text)) {
      toks[end].pos = 'NOUN'; // "man in black": a colour alone as a prepositional object is a noun
      head = end;
    }
    if (head >= 0) {
      // Trailing spatial words after a non-spatial noun are modifiers of the phrase, not its head.
      let lastPlain = -1;
      for (let k = head; k >= i; k--) {
        if ((toks[k].pos === 'NOUN' || toks[k].pos === 'PROPN') && !SPATIAL.has(toks[k].text)) {
          lastPlain = k;
          break;
        }
      }
      const trailingOnlySpatial = lastPlain >= 0 && lastPlain < head &&
        toks.slice(lastPlain + 1, head + 1).every((t) => SPATIAL.has(t.text) || t.pos === 'ADJ');
      if (trailingOnlySpatial) {
        phrases.push({ start: i, end: lastPlain, head: lastPlain });
        for (let k = lastPlain + 1; k < head; k++) attach(toks, k, head, 'amod');
        attach(toks, head, lastPlain, 'npadvmod');
      } else {
        phrases.push({ start: i, end: head, head });
      }
      end = Math.max(head, end);
    } else {
      phrases.push({ start: i, end, head: -1 });
    }
    i = end + 1;
  }
  return phrases;
}

function attach(toks: Tok[], i: number, head: number, dep: string): void {
  toks[i].head = head;
  toks[i].dep = dep;
}

/** Parses each sentence on its own (as spaCy does) and returns the last sentence's root, the one the reference's
 * root loop ends on. */
function parseTokens(toks: Tok[]): number {
  let root = -1;
  for (let start = 0; start < toks.length; ) {
    let end = start;
    const endsSentence = (k: number) => /^[.!?]$/.test(toks[k].text) && toks[k + 1] && toks[k + 1].pos !== 'PUNCT';
    while (end < toks.length && !endsSentence(end)) end++;
    end = Math.min(end + 1, toks.length);
    const sentence = toks.slice(start, end); // the same token objects: heads are set relative, then shifted
    root = parseSentence(sentence) + start;
    for (const t of sentence) t.head += start;
    start = end;
  }
  return root;
}

/** Where the left-to-right attachment of one sentence stands. */
interface ClauseState {
  root: number;
  /** Head of the first phrase, subject if a clause follows. */
  subject: number;
  /** Nearest preceding noun or verb, where a preposition attaches. */
  lastAnchor: number;
  lastNoun: number;
  /** A relative pronoun waiting for its verb, and the noun it refers to. */
  pendingRelative: number;
  relativeAntecedent: number;
  pendingAux: number[];
  lastVerb: number;
}

/** Assigns a head and a relation to every token of one sentence (see the file comment for the grammar). */
function parseSentence(toks: Tok[]): number {
  const phraseAt = attachWithinPhrases(toks);
  const s: ClauseState = {
    root: -1, subject: -1, lastAnchor: -1, lastNoun: -1, pendingRelative: -1, relativeAntecedent: -1, pendingAux: [], lastVerb: -1,
  };
  for (let i = 0; i < toks.length; ) {
    const phrase = phraseAt.get(i);
    if (phrase) {
      attachPhrase(toks, s, phrase);
      i = phrase.end + 1;
      continue;
    }
    if (toks[i].head < 0) attachWord(toks, s, i); // else already attached (a trailing spatial word)
    i++;
  }
  return attachLeftovers(toks, s.root);
}

function phraseHead(p: Phrase): number {
  return p.head >= 0 ? p.head : p.end;
}

/** Attaches each phrase's words to its head; returns the phrase at each of its tokens. */
function attachWithinPhrases(toks: Tok[]): Map<number, Phrase> {
  const phraseAt = new Map<number, Phrase>();
  for (const p of findPhrases(toks)) {
    for (let k = p.start; k <= p.end; k++) phraseAt.set(k, p);
    const head = phraseHead(p);
    for (let k = p.start; k <= p.end; k++) {
      if (k !== head) attach(toks, k, head, premodDep(toks[k]));
    }
  }
  return phraseAt;
}

/** A phrase's head: the object of a preposition or verb, an attribute, a conjunct, the root, or an apposition. */
function attachPhrase(toks: Tok[], s: ClauseState, phrase: Phrase): void {
  const h = phraseHead(phrase);
  const prev = toks[phrase.start - 1];
  if (toks[phrase.start].text === 'whose' && s.lastNoun >= 0) {
    // "giraffe whose head is bent": the phrase is the subject of a relative clause
    s.pendingRelative = h;
    s.relativeAntecedent = s.lastNoun;
    s.lastAnchor = h;
    return;
  }
  if (prev && prev.pos === 'ADP') attach(toks, h, phrase.start - 1, 'pobj');
  else if (prev && (prev.pos === 'VERB') && phrase.start - 1 === s.lastVerb) attach(toks, h, s.lastVerb, 'dobj');
  else if (prev && prev.pos === 'AUX' && s.root >= 0 && toks[s.root].pos === 'AUX') attach(toks, h, s.root, 'attr');
  else if (prev && prev.pos === 'CCONJ' && s.lastNoun >= 0) {
    attach(toks, h, s.lastNoun, 'conj');
    attach(toks, phrase.start - 1, s.lastNoun, 'cc');
  } else if (s.root < 0) {
    s.root = h;
    s.subject = h;
    attach(toks, h, h, 'ROOT');
  } else attach(toks, h, s.root, toks[h].pos === 'NOUN' ? 'appos' : 'dep');
  if (toks[h].pos === 'NOUN' || toks[h].pos === 'PROPN' || toks[h].pos === 'ADJ') s.lastNoun = h;
  s.lastAnchor = h;
}

/** A word outside the phrases, by its part of speech. */
function attachWord(toks: Tok[], s: ClauseState, i: number): void {
  const t = toks[i];
  if (t.pos === 'ADP' || t.pos === 'PART' && t.text === 'to') attachAdposition(toks, s, i);
  else if (t.pos === 'PRON') attachPronoun(toks, s, i);
  else if (t.pos === 'AUX') attachAuxiliary(toks, s, i);
  else if (t.pos === 'VERB') attachVerb(toks, s, i);
  else if (t.pos === 'ADV' || t.pos === 'PART') attachAdverb(toks, s, i);
  else if (t.pos === 'ADJ' && s.root >= 0) {
    attach(toks, i, s.lastAnchor >= 0 ? s.lastAnchor : s.root, 'amod');
  } else if (s.root < 0 && t.pos !== 'PUNCT' && t.pos !== 'CCONJ' && t.pos !== 'DET') {
    s.root = i;
    attach(toks, i, i, 'ROOT');
    s.lastAnchor = i;
  } else {
    const target = s.lastAnchor >= 0 ? s.lastAnchor : i + 1 < toks.length ? i + 1 : i;
    attach(toks, i, target, t.pos === 'PUNCT' ? 'punct' : t.pos === 'CCONJ' ? 'cc' : 'dep');
  }
}

function attachAdposition(toks: Tok[], s: ClauseState, i: number): void {
  if (s.lastAnchor >= 0) attach(toks, i, s.lastAnchor, 'prep');
  else if (s.root < 0) {
    s.root = i;
    attach(toks, i, i, 'ROOT');
  } else attach(toks, i, s.root, 'prep');
}

function attachPronoun(toks: Tok[], s: ClauseState, i: number): void {
  const t = toks[i];
  if (RELATIVE_PRONOUNS.has(t.text) && s.lastNoun >= 0) {
    s.pendingRelative = i;
    s.relativeAntecedent = s.lastNoun;
  } else if (s.root < 0) {
    s.root = i;
    s.subject = i;
    attach(toks, i, i, 'ROOT');
  } else {
    attach(toks, i, s.lastVerb >= 0 ? s.lastVerb : s.root, s.lastVerb >= 0 ? 'dobj' : 'appos');
  }
  if (t.head < 0 && s.pendingRelative !== i) attach(toks, i, i, 'ROOT');
  s.lastAnchor = i;
  if (s.pendingRelative !== i) s.lastNoun = i;
}

function attachAuxiliary(toks: Tok[], s: ClauseState, i: number): void {
  s.pendingAux.push(i);
  if (s.pendingRelative < 0 && s.root >= 0 && s.root === s.subject && !nextIsVerb(toks, i)) {
    // copula: "the man is tall" — the verb is the root, the first phrase its subject
    attach(toks, i, i, 'ROOT');
    makeSubject(toks, s.subject, i);
    s.root = i;
    s.pendingAux = [];
  } else if (s.pendingRelative >= 0 && !nextIsVerb(toks, i)) {
    attach(toks, i, s.relativeAntecedent, 'relcl');
    attach(toks, s.pendingRelative, i, 'nsubj');
    s.pendingRelative = -1;
    s.pendingAux = [];
    s.lastVerb = i;
  }
  s.lastAnchor = i;
}

function attachVerb(toks: Tok[], s: ClauseState, i: number): void {
  if (s.pendingRelative >= 0) {
    attach(toks, i, s.relativeAntecedent, 'relcl');
    attach(toks, s.pendingRelative, i, 'nsubj');
    s.pendingRelative = -1;
  } else if (s.root < 0) {
    s.root = i;
    attach(toks, i, i, 'ROOT');
  } else if (s.root === s.subject && (s.pendingAux.length > 0 || !isParticiple(toks[i])) && toks[s.root].pos !== 'ADP') {
    attach(toks, i, i, 'ROOT');
    makeSubject(toks, s.subject, i);
    s.root = i;
  } else if (s.lastNoun >= 0) {
    attach(toks, i, s.lastNoun, 'acl');
  } else attach(toks, i, s.root, 'advcl');
  for (const a of s.pendingAux) attach(toks, a, i, 'aux');
  s.pendingAux = [];
  s.lastVerb = i;
  s.lastAnchor = i;
}

function attachAdverb(toks: Tok[], s: ClauseState, i: number): void {
  const next = toks[i + 1];
  if (next && (next.pos === 'ADJ' || next.pos === 'ADV')) attach(toks, i, i + 1, 'advmod');
  else if (s.lastVerb >= 0 && s.lastVerb === i - 1) attach(toks, i, s.lastVerb, 'prt');
  else if (s.lastAnchor >= 0) attach(toks, i, s.lastAnchor, 'advmod');
  else if (next) attach(toks, i, i + 1, 'advmod');
  else attach(toks, i, i, 'ROOT');
}

/** Anything left unattached (a relative pronoun with no verb, a dangling auxiliary) hangs from the root; returns the
 *  root. */
function attachLeftovers(toks: Tok[], root: number): number {
  if (root < 0) {
    root = 0;
    if (toks.length > 0) attach(toks, 0, 0, 'ROOT');
  }
  toks.forEach((t, k) => {
    if (t.head < 0) attach(toks, k, root, 'dep');
  });
  return root;
}

function premodDep(t: Tok): string {
  if (t.pos === 'DET') return 'det';
  if (t.pos === 'NUM') return 'nummod';
  if (t.text === "'s") return 'case';
  if (t.pos === 'CCONJ') return 'cc';
  if (t.pos === 'PUNCT') return 'punct';
  if (POSSESSIVE_PRONOUNS.has(t.text)) return 'poss';
  if (t.pos === 'NOUN' || t.pos === 'PROPN') return 'compound';
  return 'amod';
}

function nextIsVerb(toks: Tok[], i: number): boolean {
  for (let k = i + 1; k < toks.length; k++) {
    if (toks[k].pos === 'VERB') return true;
    if (toks[k].pos !== 'ADV' && toks[k].pos !== 'PART' && toks[k].pos !== 'AUX') return false;
  }
  return false;
}

function makeSubject(toks: Tok[], subject: number, verb: number): void {
  attach(toks, subject, verb, toks[subject].text === 'there' ? 'expl' : 'nsubj');
}

/** spaCy's English noun_chunks over the approximate parse: [start, end) spans with their root. */
function nounChunks(toks: Tok[]): Array<{ start: number; end: number; root: number }> {
  const leftEdge = toks.map((_, i) => i);
  // A token's leftmost descendant: propagate each index up its chain of heads, from the left. A head already at
  // or left of i got there from a smaller index whose walk went on up, so the walk stops there: each token is
  // lowered once at most (linear, cycles included).
  toks.forEach((_, i) => {
    let k = i;
    for (let guard = 0; guard < toks.length && toks[k].head !== k; guard++) {
      k = toks[k].head;
      if (leftEdge[k] <= i) break;
      leftEdge[k] = i;
    }
  });
  // Where a chain of conjuncts leads, leftwards only (so it ends); from the left, each from its head's (linear).
  const conjunctRoot = new Int32Array(toks.length);
  toks.forEach((t, i) => (conjunctRoot[i] = t.dep === 'conj' && t.head < i ? conjunctRoot[t.head] : i));
  const chunks: Array<{ start: number; end: number; root: number }> = [];
  let prevEnd = -1;
  toks.forEach((t, i) => {
    if (!NOMINAL_POS.has(t.pos) || leftEdge[i] <= prevEnd) return;
    let isChunk = NP_DEPS.has(t.dep);
    if (!isChunk && t.dep === 'conj') isChunk = NP_DEPS.has(toks[conjunctRoot[t.head]].dep);
    if (isChunk) {
      prevEnd = i;
      chunks.push({ start: leftEdge[i], end: i + 1, root: i });
    }
  });
  return chunks;
}

/** The reference's keyword scan: the first token whose head index is lowest among keyword tokens wins. */
function scanKeywords<T extends string>(
  toks: Tok[],
  sets: ReadonlyArray<[T, ReadonlySet<string>]>,
  skip: ReadonlySet<T>,
): T | 'none' {
  let flag: T | 'none' = 'none';
  let best = 999;
  for (const t of toks) {
    for (const [name, words] of sets) {
      if (skip.has(name) || !words.has(t.text)) continue;
      if (t.head < best) {
        flag = name;
        best = t.head;
        break;
      }
    }
  }
  return flag;
}

/** Parses a referring expression into the fields the HybridGL pipeline reads (spec §6). */
export function parseExpression(text: string, options: ParseOptions = {}): ParsedExpression {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  const rightNever = options.quirks?.rightNever ?? true;
  // The reference lowercases, tokenizes, drops whitespace tokens, joins with spaces and parses that again.
  const lower = text.toLowerCase();
  const { tokens, tagged } = referenceTokens(lower);
  const sentence = tokens.join(' ');
  // Already in joined form: the second parse would see the same text.
  const toks = sentence === lower ? tagged : tagTokens(sentence);
  const root = toks.length > 0 ? parseTokens(toks) : -1;

  const chunks = nounChunks(toks);
  const chunkText = (c: { start: number; end: number }) => toks.slice(c.start, c.end).map((t) => t.text).join(' ');
  const chunkOf = (i: number) => chunks.find((c) => i >= c.start && i < c.end);

  // extract_noun_phrase: the chunk holding the root, else the chunk of the root's first child, else everything.
  let nounPhrase = sentence;
  let headNoun = sentence;
  if (root >= 0) {
    let head = root;
    let chunk = chunkOf(head);
    if (!chunk) {
      const firstChild = toks.findIndex((t, k) => k !== root && t.head === root);
      if (firstChild >= 0 && chunkOf(firstChild)) {
        head = firstChild;
        chunk = chunkOf(firstChild);
      }
    }
    if (chunk) {
      nounPhrase = chunkText(chunk);
      headNoun = toks[head].text;
    }
  }

  // extract_nouns: every other chunk whose text differs from the noun phrase and whose root is no relation word.
  const otherNounPhrases: string[] = [];
  const otherNouns: string[] = [];
  for (const c of chunks) {
    const textOfChunk = chunkText(c);
    if (textOfChunk === nounPhrase || RELATION_WORDS.has(toks[c.root].text)) continue;
    otherNounPhrases.push(textOfChunk);
    otherNouns.push(toks[c.root].text);
  }

  const position = scanKeywords(toks, POSITION_KEYWORDS, new Set());
  const relation = otherNouns.some((n) => NULL_KEYWORDS.has(n))
    ? 'none'
    : scanKeywords(toks, RELATION_KEYWORDS, new Set<Relation>(rightNever ? ['right'] : []));

  return {
    tokens,
    sentence,
    nounPhrase,
    headNoun,
    otherNounPhrases,
    otherNouns,
    position,
    relation,
    parse: toks.map((t) => ({ text: t.text, pos: t.pos, head: t.head, dep: t.dep })),
  };
}
