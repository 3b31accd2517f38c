// Models: `hybridgl models fetch`: the official checkpoints from their publishers (resumable over HTTP Range,
// sha256-verified), then `models convert`; or, with --from, checkpoints already downloaded (a directory or a mirror
// URL) or a converted/exported model directory served over HTTP (for clusters: one conversion, many nodes).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { availableSamTypes, convertCheckpoints, type ByteProgress, type ConvertOptions } from './convert.ts';
import { affectedConversion } from './converterVersion.ts';
import type { Manifest, Precision } from './loadModels.ts';
import { precisionsToWrite } from './manifest.ts';
import { manifestShapeProblems } from './manifestShape.ts';
import { DEFAULT_SAM_TYPE, OFFICIAL, type CheckpointSource } from './officialCheckpoints.ts';

export { OFFICIAL, type CheckpointSource };

export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchError';
  }
}

export interface FetchOptions {
  out: string;
  samType?: string;
  precisions?: Precision[];
  /** A directory of downloaded checkpoints or an exported model directory, or an http(s) URL of either. */
  from?: string;
  /** Where the checkpoints are (default: OFFICIAL); tests point it at a local server. */
  sources?: { sam: CheckpointSource; clip: CheckpointSource };
  /** How many times a cut download is resumed before giving up (default 5). */
  retries?: number;
  /** Told the bytes of each download, then of the conversion (default: told nothing). */
  onProgress?: (p: ByteProgress) => void;
  templates?: ConvertOptions['templates'];
  vocab?: ConvertOptions['vocab'];
  /** Timeouts and the redirect limit (default NETWORK_DEFAULTS); tests shorten them. */
  network?: Partial<NetworkLimits>;
}

async function sha256File(path: string, hash = createHash('sha256')): Promise<string> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** How long fetch waits on the network, and how far it follows redirects. */
export interface NetworkLimits {
  /** From sending a request to its response's headers (connecting included). */
  connectTimeoutMs: number;
  /** Longest silence while a response's body arrives; past it the connection counts as cut (and is resumed). */
  idleTimeoutMs: number;
  /** Redirects followed for one request. */
  maxRedirects: number;
}

export const NETWORK_DEFAULTS: NetworkLimits = { connectTimeoutMs: 30_000, idleTimeoutMs: 60_000, maxRedirects: 5 };
/** The most bytes read of a manifest.json, and of a file whose size nothing declares (the CLIP vocabulary: 1.4 MB). */
export const MAX_MANIFEST_BYTES = 16 * 2 ** 20;
const MAX_UNDECLARED_BYTES = 64 * 2 ** 20;
/** Checkpoints whose size is not published: bounded by the largest (SAM vit_h, 2.56 GB) with room to spare. */
const MAX_CHECKPOINT_BYTES = 4 * 2 ** 30;

/** A request that trying again cannot mend: too many redirects, a URL that is not http(s). */
class UnfollowableError extends FetchError {}

interface Response { res: IncomingMessage; abort: () => void }

/** GET `url`, following at most maxRedirects http(s) redirects; rejects past connectTimeoutMs without headers, and
 *  cuts the response (an 'error' on it) after idleTimeoutMs of silence. */
function request(url: string, headers: Record<string, string>, net: NetworkLimits, redirects = 0): Promise<Response> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : url.startsWith('http:') ? httpGet : null;
    if (!get) return reject(new UnfollowableError(`${url}: only http(s) URLs can be fetched`));
    const req = get(url, { headers }, (res) => {
      clearTimeout(connectTimer);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        req.destroy();
        if (redirects >= net.maxRedirects) return reject(new UnfollowableError(`GET ${url}: more than ${net.maxRedirects} redirects`));
        let next: string;
        try {
          next = new URL(res.headers.location, url).toString();
        } catch {
          return reject(new UnfollowableError(`GET ${url}: redirected to an invalid URL ${JSON.stringify(res.headers.location)}`));
        }
        resolve(request(next, headers, net, redirects + 1));
      } else resolve({ res, abort: () => req.destroy() });
    });
    const connectTimer = setTimeout(() => req.destroy(new FetchError(`GET ${url}: no answer within ${net.connectTimeoutMs} ms`)), net.connectTimeoutMs);
    req.setTimeout(net.idleTimeoutMs, () => req.destroy(new FetchError(`GET ${url}: no data for ${net.idleTimeoutMs} ms`)));
    req.on('error', (e) => {
      clearTimeout(connectTimer);
      reject(e);
    });
  });
}

/** The body of `url` in memory, refused past `maxBytes` while reading; null when the server answers other than 200. */
async function fetchBytes(url: string, maxBytes: number, net: NetworkLimits): Promise<Buffer | null> {
  let response: Response;
  try {
    response = await request(url, {}, net);
  } catch (e) {
    throw e instanceof FetchError ? e : new FetchError(`GET ${url}: ${(e as Error).message}`);
  }
  const { res, abort } = response;
  if (res.statusCode !== 200) {
    abort();
    return null;
  }
  if (Number(res.headers['content-length']) > maxBytes) {
    abort();
    throw new FetchError(`${url} is ${res.headers['content-length']} bytes, more than the ${maxBytes} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        abort();
        throw new FetchError(`${url} is more than the ${maxBytes} bytes allowed`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    throw e instanceof FetchError ? e : new FetchError(`GET ${url}: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

export interface DownloadOptions {
  retries?: number;
  onProgress?: (p: ByteProgress) => void;
  label?: string;
  /** The file's size as published (a manifest's `bytes`): anything else is refused, and no byte past it is written. */
  bytes?: number;
  /** Without `bytes`: the most bytes accepted (default 64 MiB). */
  maxBytes?: number;
  network?: Partial<NetworkLimits>;
}

/** Downloads url to dest, resuming `<dest>.partial` with a Range request after a cut or stalled connection (and
 *  across runs), then checks the size and sha256: a mismatch deletes the download and throws. On any failure the
 *  `.partial` is kept only when the server takes Range requests (the next run resumes it). */
export async function download(url: string, dest: string, sha256: string | null, options: DownloadOptions = {}) {
  const net = { ...NETWORK_DEFAULTS, ...options.network };
  const partial = `${dest}.partial`;
  const label = options.label ?? url;
  const limit = options.bytes ?? options.maxBytes ?? MAX_UNDECLARED_BYTES;
  const retries = options.retries ?? 5;
  let resumable = false;
  function fail(message: string, keep = resumable): never {
    if (!keep) rmSync(partial, { force: true });
    throw new FetchError(message + (keep && existsSync(partial) ? '; run again to resume' : ''));
  }
  // A link planted where the partial file goes would send the bytes elsewhere.
  if (lstatSync(partial, { throwIfNoEntry: false })?.isSymbolicLink() || (existsSync(partial) && statSync(partial).size > limit)) rmSync(partial, { force: true });
  let attempt = 0;
  for (;;) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    let response: Response;
    try {
      response = await request(url, have ? { Range: `bytes=${have}-` } : {}, net);
    } catch (e) {
      if (e instanceof UnfollowableError) fail(e.message, false); // trying again follows the same loop
      if (++attempt > retries) fail(`GET ${url}: ${(e as Error).message}`);
      continue;
    }
    const { res, abort } = response;
    const status = res.statusCode ?? 0;
    if (status === 416 && have > 0) { abort(); break; } // nothing left: the partial file is complete
    if (status !== 200 && status !== 206) {
      abort();
      fail(`GET ${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim());
    }
    resumable ||= status === 206 || res.headers['accept-ranges'] === 'bytes';
    const append = status === 206 && have > 0;
    const total = Number(status === 206 ? (res.headers['content-range'] ?? '').split('/')[1] : res.headers['content-length']) || 0;
    if (total && (options.bytes !== undefined ? total !== options.bytes : total > limit)) {
      abort();
      fail(`GET ${url}: the server sends ${total} bytes, ${options.bytes !== undefined ? `the manifest says ${options.bytes}` : `more than the ${limit} allowed`}`, false);
    }
    let done = append ? have : 0;
    const out = createWriteStream(partial, { flags: append ? 'a' : 'w' });
    const outcome = await new Promise<'complete' | 'cut' | 'over'>((resolve) => {
      // Settles once the file has everything written so far, so that a resume starts from its true size.
      let settled = false, ended = false, over = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        out.end(() => resolve(over ? 'over' : ended && (!total || done >= total) ? 'complete' : 'cut'));
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (done + chunk.length > limit) { // past the declared size: stop before writing it
          over = true;
          abort();
          settle();
          return;
        }
        done += chunk.length;
        options.onProgress?.({ label, doneBytes: done, totalBytes: total || limit, final: false });
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      });
      res.on('end', () => (ended = true));
      res.on('error', settle);
      res.on('close', settle);
      out.on('error', settle);
    });
    if (outcome === 'over') fail(`GET ${url}: the server sent more than the ${limit} bytes ${options.bytes !== undefined ? 'the manifest declares' : 'allowed'}; the download was deleted`, false);
    if (outcome === 'complete' && (options.bytes === undefined || done === options.bytes)) break;
    if (++attempt > retries) fail(`GET ${url}: connection cut or stalled ${attempt} times`);
  }
  const size = statSync(partial).size;
  options.onProgress?.({ label, doneBytes: size, totalBytes: size, final: true });
  if (options.bytes !== undefined && size !== options.bytes)
    fail(`${url}: ${size} bytes, the manifest says ${options.bytes}; the download was deleted`, false);
  if (sha256) {
    const got = await sha256File(partial);
    if (got !== sha256) fail(`${url}: sha256 is ${got}, expected ${sha256}; the download was deleted (a wrong or corrupted file)`, false);
  }
  renameSync(partial, dest);
}

/** A model directory (manifest.json + files) copied from a URL, the manifest's shape checked before any file is
 *  requested, every file checked against its size and sha256 and written only inside `out`. */
async function fetchModelDir(base: string, manifestBytes: Buffer, out: string, options: FetchOptions): Promise<Manifest> {
  const where = `${base}/manifest.json`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifestBytes.toString('utf8'));
  } catch (e) {
    throw new FetchError(`${where} is not JSON (${(e as Error).message})`);
  }
  const problems = manifestShapeProblems(parsed);
  if (problems.length) throw new FetchError(`${where}: ${problems.join('; ')}`);
  const manifest = parsed as Manifest;
  const affected = affectedConversion(manifest.exporter);
  if (affected)
    throw new FetchError(`${where}: the model directory there was ${affected}; convert it again where it is ` +
      `served (${manifest.exporter.command}), or fetch the checkpoints and convert here`);
  const precisions = options.precisions && precisionsToWrite(options.precisions);
  const wanted = manifest.files.filter((f) => !precisions || precisions.includes(f.precision));
  const items: Array<{ name: string; sha256: string | null; bytes?: number }> = [];
  for (const f of wanted) {
    items.push({ name: f.name, sha256: f.sha256, bytes: f.bytes });
    if (f.externalData) items.push(f.externalData);
  }
  if (manifest.vocab.present) items.push({ name: manifest.vocab.file, sha256: manifest.vocab.sha256 ?? null });
  mkdirSync(out, { recursive: true });
  const root = resolve(out);
  for (const it of items) {
    const dest = join(root, it.name);
    if (dirname(dest) !== root) throw new FetchError(`${where} names ${JSON.stringify(it.name)}, not a plain file name in the model directory`);
    if (existsSync(dest) && it.sha256 && (await sha256File(dest)) === it.sha256) continue;
    await download(`${base}/${encodeURIComponent(it.name)}`, dest, it.sha256, { ...options, label: it.name, bytes: it.bytes, maxBytes: MAX_UNDECLARED_BYTES });
  }
  writeFileSync(join(root, 'manifest.json'), `${JSON.stringify({ ...manifest, files: wanted }, null, 1)}\n`);
  return manifest;
}

export async function fetchModels(options: FetchOptions): Promise<Manifest> {
  const samType = options.samType ?? DEFAULT_SAM_TYPE;
  const official = OFFICIAL[samType as keyof typeof OFFICIAL];
  const sources = options.sources ?? (official && samType !== 'clip' ? { sam: official, clip: OFFICIAL.clip } : null);
  if (!sources) throw new FetchError(`--sam must be vit_h, vit_l or vit_b, got ${samType}`);
  const from = options.from?.replace(/\/+$/, '');
  const remote = from !== undefined && /^https?:\/\//.test(from);
  if (from !== undefined && !remote && !statSync(from, { throwIfNoEntry: false })?.isDirectory())
    throw new FetchError(`--from ${from} is neither a directory nor an http(s) URL`);
  if (from !== undefined && !remote && existsSync(join(from, 'manifest.json')))
    throw new FetchError(`${from} is already a model directory: use --models ${from} directly (or serve it over HTTP for --from URL)`);
  if (remote) {
    const net = { ...NETWORK_DEFAULTS, ...options.network };
    const manifest = await fetchBytes(`${from}/manifest.json`, MAX_MANIFEST_BYTES, net);
    if (manifest) return fetchModelDir(from!, manifest, options.out, options);
  }

  const types = availableSamTypes(options.templates);
  if (!types.includes(samType))
    throw new FetchError(`no graph templates for SAM ${samType} in this package (have: ${types.join(', ') || 'none'}); ` +
      'fetch one of those, or export with models/export.py');
  const ckDir = join(options.out, 'checkpoints');
  mkdirSync(ckDir, { recursive: true });
  const paths: Record<'sam' | 'clip', string> = { sam: '', clip: '' };
  for (const which of ['sam', 'clip'] as const) {
    const src = sources[which];
    if (from !== undefined && !remote) {
      const path = join(from, src.file);
      if (!existsSync(path)) throw new FetchError(`${from} has no ${src.file} (the ${which === 'sam' ? `SAM ${samType}` : 'CLIP ViT-B/16'} checkpoint)`);
      const got = await sha256File(path);
      if (got !== src.sha256) throw new FetchError(`${path}: sha256 is ${got}, expected ${src.sha256} (not the released file)`);
      paths[which] = path;
      continue;
    }
    const dest = join(ckDir, src.file);
    if (!(existsSync(dest) && (await sha256File(dest)) === src.sha256))
      await download(remote ? `${from}/${src.file}` : src.url, dest, src.sha256,
        { ...options, label: src.file, bytes: src.bytes, maxBytes: MAX_CHECKPOINT_BYTES });
    paths[which] = dest;
  }
  return convertCheckpoints({ sam: paths.sam, clip: paths.clip, out: options.out, samType, precisions: options.precisions,
    templates: options.templates, vocab: options.vocab, onProgress: options.onProgress,
    command: `hybridgl models fetch --out ${options.out} --sam ${samType}` });
}
