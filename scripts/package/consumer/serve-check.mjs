// The installed package's service: `hybridgl serve` loads the models in its worker (the compiled worker module),
// serves the web page (an asset copied beside the compiled code) and /healthz, and exits 0 on SIGTERM.
// usage: node serve-check.mjs PKG_DIR MODELS_DIR VOCAB
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const [pkg, models, vocab] = process.argv.slice(2);
const server = spawn(process.execPath, [join(pkg, 'bin', 'hybridgl.js'), 'serve', '--models', models, '--vocab', vocab,
  '--device', 'cpu', '--port', '0'], { stdio: ['ignore', 'inherit', 'pipe'] });
// Whatever fails, the service does not outlive the check.
process.on('exit', () => server.exitCode === null && server.signalCode === null && server.kill('SIGKILL'));
const deadline = setTimeout(() => {
  console.error('serve-check: the service did not start and answer within 60 s');
  process.exit(1);
}, 60_000);
let stderr = '';
const url = await new Promise((resolve, reject) => {
  server.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
    const m = /listening on (http:\/\/\S+)/.exec(stderr);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`serve-check: the service exited (${code}) before listening:\n${stderr}`)));
});
const page = await fetch(`${url}/`);
const html = await page.text();
if (page.status !== 200 || !html.includes('<html')) throw new Error(`serve-check: GET / gave ${page.status}`);
const health = await fetch(`${url}/healthz`);
if (health.status !== 200) throw new Error(`serve-check: GET /healthz gave ${health.status}`);
server.kill('SIGTERM');
const code = await new Promise((resolve) => server.on('exit', resolve));
clearTimeout(deadline);
if (code !== 0) throw new Error(`serve-check: exit ${code} after SIGTERM:\n${stderr}`);
console.log(`serve-check: ${url} served the page and /healthz, models in the worker; exit 0 on SIGTERM`);
