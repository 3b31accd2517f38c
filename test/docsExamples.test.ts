// The examples of README.md and docs/*.md cannot rot: every block marked `runnable` runs here against the test models
// and the bundled photo, every block marked `parse-only` (real weights, data sets, a GPU, a network) is checked to
// parse and to use only commands and flags the CLI has, and every relative link resolves. The markers and the
// placeholders: docs/developing.md, "Examples that run".
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runProcess, type ProcessResult } from './runProcess.ts';

const ROOT = join(import.meta.dirname, '..');
// What an example's `hybridgl` and `import … from 'hybridgl'` mean here: the package's command and the library's
// source entry (the two places to repoint if either moves).
const CLI_BIN = join(ROOT, 'bin', 'hybridgl.js');
const LIBRARY_ENTRY = join(ROOT, 'src', 'index.ts');
// The placeholders examples use, and what they stand for here.
const MODELS = join(ROOT, 'test', 'fixtures', 'e2e', 'models');
const PHOTO = join(ROOT, 'assets', 'demo.jpg');
const VOCAB = join(ROOT, 'models', 'vocab', 'bpe_simple_vocab_16e6.txt.gz');
const MODELS_PLACEHOLDER = '/path/to/models'; // and ~/hybridgl-models: $HOME/hybridgl-models links to MODELS
const PHOTO_PLACEHOLDER = 'photo.jpg'; // a copy of PHOTO in the example's working directory
const MARKERS = ['runnable', 'parse-only'] as const;
const BLOCK_TIMEOUT_MS = 90_000;
// The allocator settings bin/hybridgl.js would otherwise start itself again to add (bin/allocatorEnv.js).
const ENV = { ...process.env, HYBRIDGL_VOCAB: VOCAB, MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };

interface Block {
  file: string; // relative to the repository root
  line: number; // of the opening fence
  lang: string;
  marker: (typeof MARKERS)[number] | undefined;
  code: string;
}

/** The fenced blocks of a markdown text; an info string's first word is the language, the second the marker. */
function fencedBlocks(text: string, file: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(?:[ \t]+(.*))?$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: a fenced block that is never closed`);
    const words = (open[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const marker = words[0] as Block['marker'];
    if (words.length > 1 || (marker !== undefined && !MARKERS.includes(marker)))
      throw new Error(`${file}:${start + 1}: unknown marker '${open[2]}' (known: ${MARKERS.join(', ')})`);
    blocks.push({ file, line: start + 1, lang: open[1], marker, code: body.join('\n') + '\n' });
  }
  return blocks;
}

const DOC_FILES = ['README.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)]
  .filter((f) => existsSync(join(ROOT, f)));
const BLOCKS = DOC_FILES.flatMap((f) => fencedBlocks(readFileSync(join(ROOT, f), 'utf8'), f));
const MARKED = BLOCKS.filter((b) => b.marker !== undefined);
// The same example on two pages runs once.
const RUNNABLE = [...new Map(MARKED.filter((b) => b.marker === 'runnable').map((b) => [`${b.lang}\n${b.code}`, b])).values()];
const PARSE_ONLY = MARKED.filter((b) => b.marker === 'parse-only');
const where = (b: Block) => `${b.file}:${b.line}`;

// ---- sh: `hybridgl` invocations, the commands and flags they use -------------------------------------------------

interface Invocation { command: string[]; flags: string[]; text: string }

/** The `hybridgl` (or `npx hybridgl`) commands of a shell block: continuation lines joined, comments dropped. */
function hybridglInvocations(code: string): Invocation[] {
  const out: Invocation[] = [];
  const joined = code.replace(/\\\n/g, ' ');
  for (const rawLine of joined.split('\n')) {
    const line = stripComment(rawLine);
    for (const part of line.split(/\|\|?|&&|;/)) {
      const words = shellWords(part);
      const i = words.findIndex((w) => w === 'hybridgl');
      if (i < 0 || (i > 0 && !['npx', 'exec'].includes(words[i - 1]) && !/^[A-Z_][A-Z0-9_]*=/.test(words[i - 1]))) continue;
      const args = words.slice(i + 1);
      const command: string[] = [];
      if (args[0] !== undefined && !args[0].startsWith('-')) {
        command.push(args[0]);
        if ((args[0] === 'eval' && ['merge', 'report'].includes(args[1])) || (args[0] === 'models' && args[1] && !args[1].startsWith('-')))
          command.push(args[1]);
      }
      const flags = args.filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split('=')[0]);
      out.push({ command, flags, text: part.trim() });
    }
  }
  return out;
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** Words of a simple command, quotes removed (enough for the examples: no expansions are interpreted). */
function shellWords(text: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

// ---- links ---------------------------------------------------------------------------------------------------------

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  let fence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const h = !fence && /^#{1,6} (.*)$/.exec(line);
    if (h) anchors.add(headingAnchor(h[1]));
  }
  return anchors;
}

/** Relative link targets outside code: `[text](target)` and `<img src="target">`, with their line. */
function relativeLinks(text: string): Array<{ target: string; line: number }> {
  const links: Array<{ target: string; line: number }> = [];
  let fence = false;
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) fence = !fence;
    if (fence) return;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<img[^>]*\ssrc="([^"]+)"/g)) {
      const target = m[1] ?? m[2];
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line: i + 1 });
    }
  });
  return links;
}

// ---- running -------------------------------------------------------------------------------------------------------

let work: string;
let home: string;
let helpTexts: Map<string, string>;

function cli(args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI_BIN, ...args], { cwd: ROOT, env: ENV });
}

/** A fresh working directory for one example, holding the photo. */
function exampleDir(b: Block): string {
  const dir = join(work, `${b.file.replace(/[/.]/g, '_')}-${b.line}`);
  mkdirSync(dir, { recursive: true });
  cpSync(PHOTO, join(dir, PHOTO_PLACEHOLDER));
  return dir;
}

function withPlaceholders(code: string): string {
  return code.split(MODELS_PLACEHOLDER).join(MODELS);
}

async function runShell(b: Block): Promise<ProcessResult> {
  const dir = exampleDir(b);
  const script = [
    'set -euo pipefail',
    `hybridgl() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_BIN)} "$@"; }`,
    'npx() { if [ "$1" = hybridgl ]; then shift; hybridgl "$@"; else command npx "$@"; fi; }',
    withPlaceholders(b.code),
  ].join('\n');
  writeFileSync(join(dir, 'example.sh'), script);
  return runProcess('bash', ['example.sh'], { cwd: dir, env: { ...ENV, HOME: home } });
}

async function runTypeScript(b: Block): Promise<ProcessResult> {
  const dir = exampleDir(b);
  const code = withPlaceholders(b.code).replace(/from 'hybridgl'/g, `from ${JSON.stringify(LIBRARY_ENTRY)}`);
  writeFileSync(join(dir, 'example.mts'), code);
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  return runProcess(process.execPath, [tsx, 'example.mts'], { cwd: dir, env: ENV });
}

/** Syntax errors of a TypeScript block, as TypeScript reports them. */
function typeScriptSyntaxErrors(code: string): string[] {
  const out = ts.transpileModule(code, {
    reportDiagnostics: true, fileName: 'example.mts',
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/** The names a block imports (not type-only) from 'hybridgl'. */
function importedNames(code: string): string[] {
  const names: string[] = [];
  for (const m of code.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'hybridgl'/g)) {
    if (m[1]) continue;
    for (const spec of m[2].split(',').map((s) => s.trim()).filter(Boolean)) {
      if (spec.startsWith('type ')) continue;
      names.push(spec.split(/\s+as\s+/)[0]);
    }
  }
  return names;
}

function check(b: Block, r: ProcessResult): void {
  expect(r.status, `${where(b)} exited ${r.status ?? r.signal}\n--- block\n${b.code}--- stderr\n${r.stderr.slice(-4000)}\n--- stdout\n${r.stdout.slice(-2000)}`).toBe(0);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hybridgl-docs-'));
  home = join(work, 'home');
  mkdirSync(home);
  symlinkSync(MODELS, join(home, 'hybridgl-models'));
  // Help texts for the commands parse-only blocks use (each once): the command's own, and the general one.
  const commands = new Set(PARSE_ONLY.filter((b) => b.lang === 'sh').flatMap((b) => hybridglInvocations(b.code)).map((v) => v.command.join(' ')));
  commands.add('');
  helpTexts = new Map();
  await Promise.all([...commands].map(async (c) => {
    const words = c ? c.split(' ') : [];
    const r = await cli(words.length ? [...words, '--help'] : ['help']);
    // `models …` has one usage for both sub-commands (`models help`).
    const fallback = words[0] === 'models' ? (await cli(['models', 'help'])).stdout : '';
    helpTexts.set(c, (r.status === 0 ? r.stdout : '') + fallback);
  }));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the documentation', () => {
  it('has runnable and parse-only examples to check, each a sh or ts block', () => {
    expect(RUNNABLE.length).toBeGreaterThan(0);
    expect(PARSE_ONLY.length).toBeGreaterThan(0);
    for (const b of MARKED) expect(['sh', 'ts'], `${where(b)}: a marked block must be sh or ts`).toContain(b.lang);
  });

  it('keeps the README API example first among the ts blocks importing hybridgl, and runnable', () => {
    // scripts/package/consumer/readme-example.mjs runs the first ```ts block importing 'hybridgl' from the installed
    // README, with '/path/to/models' and 'photo.jpg' pointed at the fixture.
    const first = BLOCKS.find((b) => b.file === 'README.md' && b.lang === 'ts' && b.code.includes("from 'hybridgl'"));
    expect(first?.marker).toBe('runnable');
    expect(first?.code).toContain(`'${MODELS_PLACEHOLDER}'`);
    expect(first?.code).toContain(`'${PHOTO_PLACEHOLDER}'`);
  });

  it('resolves every relative link (files, and headings of markdown files)', () => {
    const broken: string[] = [];
    for (const file of DOC_FILES) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const { target, line } of relativeLinks(text)) {
        const [path, anchor] = target.split('#');
        const abs = path ? resolve(ROOT, dirname(file), decodeURIComponent(path)) : join(ROOT, file);
        if (!existsSync(abs)) broken.push(`${file}:${line}: ${target} (no ${relative(ROOT, abs)})`);
        else if (anchor && abs.endsWith('.md') && !anchorsOf(readFileSync(abs, 'utf8')).has(anchor))
          broken.push(`${file}:${line}: ${target} (no heading '#${anchor}' in ${relative(ROOT, abs)})`);
      }
    }
    expect(broken).toEqual([]);
  });

  describe('parse-only examples parse and use only commands and flags the CLI has', () => {
    it.each(PARSE_ONLY.map((b) => [where(b), b] as const))('%s', async (_name, b) => {
      if (b.lang === 'ts') {
        expect(typeScriptSyntaxErrors(b.code), where(b)).toEqual([]);
        const lib = await import(LIBRARY_ENTRY);
        for (const name of importedNames(b.code)) expect(lib, `${where(b)} imports ${name}`).toHaveProperty(name);
        return;
      }
      const r = await runProcess('bash', ['-n'], { input: b.code });
      expect(r.status, `${where(b)}: bash -n: ${r.stderr}`).toBe(0);
      for (const v of hybridglInvocations(b.code)) {
        const general = helpTexts.get('')!;
        expect(v.command.length, `${where(b)}: '${v.text}' names no command`).toBeGreaterThan(0);
        expect(general, `${where(b)}: hybridgl has no command '${v.command[0]}'`).toMatch(new RegExp(`^  ${escape(v.command[0])}\\b`, 'm'));
        const help = helpTexts.get(v.command.join(' ')) ?? '';
        for (const flag of v.flags)
          expect(help, `${where(b)}: 'hybridgl ${v.command.join(' ')}' has no flag ${flag} in its help`).toMatch(new RegExp(`${escape(flag)}(?![\\w-])`));
      }
    });
  });

  describe('runnable examples run against the test models', () => {
    it.each(RUNNABLE.map((b) => [where(b), b] as const))('%s', async (_name, b) => {
      if (b.lang === 'ts') {
        const lib = await import(LIBRARY_ENTRY);
        for (const name of importedNames(b.code)) expect(lib, `${where(b)} imports ${name}`).toHaveProperty(name);
        check(b, await runTypeScript(b));
      } else check(b, await runShell(b));
    }, BLOCK_TIMEOUT_MS);
  });
});

describe('the example checks themselves', () => {
  it('find markers, commands and flags', () => {
    const blocks = fencedBlocks('x\n```sh runnable\nnpx hybridgl eval report runs/* --md r.md # --not-a-flag\n```\n```ts\nlet a;\n```\n', 'T.md');
    expect(blocks.map((b) => [b.lang, b.marker, b.line])).toEqual([['sh', 'runnable', 2], ['ts', undefined, 5]]);
    expect(hybridglInvocations(blocks[0].code)).toEqual([{ command: ['eval', 'report'], flags: ['--md'], text: 'npx hybridgl eval report runs/* --md r.md' }]);
    expect(hybridglInvocations('echo x |\n  npx hybridgl segment --jsonl \\\n  --models "a b"\n')[0]).toMatchObject({ command: ['segment'], flags: ['--jsonl', '--models'] });
    expect(() => fencedBlocks('```sh runable\nx\n```\n', 'T.md')).toThrow(/T.md:1: unknown marker 'runable'/);
    expect(() => fencedBlocks('```sh\nx\n', 'T.md')).toThrow(/never closed/);
  });

  it('finds relative links and heading anchors', () => {
    expect(relativeLinks('[a](docs/x.md#y) `[b](no.md)` [c](https://e.org) <img src="assets/p.png">\n```\n[d](z.md)\n```\n'))
      .toEqual([{ target: 'docs/x.md#y', line: 1 }, { target: 'assets/p.png', line: 1 }]);
    expect(headingAnchor('Reproducing the paper')).toBe('reproducing-the-paper');
    expect(headingAnchor('`eval report`, shards & Slurm/Kubernetes')).toBe('eval-report-shards--slurmkubernetes');
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
