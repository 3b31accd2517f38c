// Shows that a trace opens in a browser (run as below): a `hybridgl bench --trace` file opened offline in speedscope
// (the npm package's static app, which reads Chrome trace JSON: one profile per process/thread of the trace) in
// headless Chromium (playwright-core, Debian's /usr/bin/chromium), and a screenshot of one of its tracks. Perfetto
// (ui.perfetto.dev) needs the network; Debian's Chromium 156 does not open chrome://tracing
// (ERR_FAILED, even with its internal debugging pages enabled).
//   npx tsx bench/perf/trace_screenshot.ts TRACE.json OUT.png [--track NAME] [--view VIEW] [--speedscope DIR]
//     [--width W --height H] [--list] [--args]
// NAME: part of the track's name (e.g. sam_encoder: ONNX Runtime's per-node profile of that session; default: the
// first track; --list prints them all); VIEW: speedscope's time-ordered (default), left-heavy or sandwich; DIR: an
// unpacked speedscope package (default: `npm pack speedscope@1.25.0` into a temporary folder).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { track: { type: 'string' }, view: { type: 'string' }, list: { type: 'boolean' }, args: { type: 'boolean' }, speedscope: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' } },
});
const [tracePath, pngPath] = positionals;
if (!tracePath || !pngPath) throw new Error('usage: trace_screenshot.ts TRACE.json OUT.png [--track NAME] [--speedscope DIR]');
const CHROMIUM = process.env.HYBRIDGL_CHROMIUM ?? '/usr/bin/chromium';
const scratch = mkdtempSync(join(tmpdir(), 'trace-shot-'));

function speedscopeApp(): string {
  if (values.speedscope) return join(values.speedscope, 'dist', 'release');
  execFileSync('npm', ['pack', 'speedscope@1.25.0', '--silent', '--pack-destination', scratch], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('tar', ['-xzf', join(scratch, 'speedscope-1.25.0.tgz'), '-C', scratch]);
  return join(scratch, 'package', 'dist', 'release');
}
const app = speedscopeApp();
if (!existsSync(join(app, 'index.html'))) throw new Error(`${app} has no speedscope index.html`);

// speedscope has no panel for an event's args and writes them into its name; Perfetto shows them apart. So the
// picture gets the events without args (the names the trace gives people) unless --args asks for them.
const traceBody = (): Buffer => {
  const raw = readFileSync(tracePath);
  if (values.args) return raw;
  const trace = JSON.parse(raw.toString('utf8')) as { traceEvents?: Array<Record<string, unknown>> } | Array<Record<string, unknown>>;
  const events = Array.isArray(trace) ? trace : trace.traceEvents ?? [];
  for (const e of events) if (e.ph !== 'M') delete e.args;
  return Buffer.from(JSON.stringify(trace));
};
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.woff2': 'font/woff2', '.png': 'image/png' };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = path === '/trace.json' ? tracePath : join(app, normalize(path === '/' ? '/index.html' : path));
  if (!file.startsWith(app) && file !== tracePath) return void res.writeHead(403).end();
  try {
    const body = file === tracePath ? traceBody() : readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width ?? 1400), height: Number(values.height ?? 720) } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/#profileURL=${encodeURIComponent('/trace.json')}${values.view ? `&view=${values.view}` : ''}`);
  await page.waitForSelector('canvas', { timeout: 120_000 });
  // The toolbar's middle names the track shown: "NAME (i/n)"; `n` steps to the next track.
  const title = async () => (await page.locator('body').innerText()).match(/([^\n]*)\((\d+)\/(\d+)\)/);
  await page.waitForFunction(() => /\(\d+\/\d+\)/.test(document.body.innerText), null, { timeout: 120_000 });
  const first = await title();
  const count = Number(first?.[3] ?? 1);
  if (values.list) {
    for (let i = 0; i < count; i++, await page.keyboard.press('n'), await page.waitForTimeout(200)) console.log((await title())?.[0]);
  } else {
    if (values.track) {
      for (let i = 0; i < count && !(await title())?.[1].includes(values.track); i++) {
        await page.keyboard.press('n');
        await page.waitForTimeout(200);
      }
      if (!(await title())?.[1].includes(values.track)) throw new Error(`no track named like ${values.track} in ${tracePath}`);
    }
    await page.waitForTimeout(1000);
    await page.screenshot({ path: pngPath });
    console.log(`${pngPath}: track ${(await title())?.[0] ?? '?'}`);
  }
  if (errors.length) throw new Error(`speedscope: ${errors.join('; ')}`);
} finally {
  await browser.close();
  server.close();
  rmSync(scratch, { recursive: true, force: true });
}
