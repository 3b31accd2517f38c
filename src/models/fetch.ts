// Models: `hybridgl models fetch`: the official checkpoints from their publishers (resumable over HTTP Range,
// sha256-verified), then `models convert`; or, with --from, checkpoints already downloaded (a directory or a mirror
// URL) or a converted/exported model directory served over HTTP (for clusters: one conversion, many nodes).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, join } from 'node:path';
import { createProgress } from '../eval/progress.ts';
import { availableSamTypes, convertCheckpoints, type ConvertOptions } from './convert.ts';
import { affectedConversion } from './converterVersion.ts';
import type { Manifest, Precision } from './loadModels.ts';

export interface CheckpointSource { file: string; url: string; sha256: string; bytes?: number }

/** The publishers' URLs. CLIP's sha256 is the one in its URL (clip.py checks it so); Meta publishes none for SAM:
 *  these are the files' sha256s as widely recorded for the released files. */
export const OFFICIAL: Record<'vit_h' | 'vit_l' | 'vit_b' | 'clip', CheckpointSource> = {
  vit_h: { file: 'sam_vit_h_4b8939.pth', url: 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth',
    sha256: 'a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e', bytes: 2564550879 },
  vit_l: { file: 'sam_vit_l_0b3195.pth', url: 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth',
    sha256: '3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622' },
  vit_b: { file: 'sam_vit_b_01ec64.pth', url: 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth',
    sha256: 'ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912' },
  clip: { file: 'ViT-B-16.pt',
    url: 'https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt',
    sha256: '5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f' },
};

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
  progress?: boolean;
  templates?: ConvertOptions['templates'];
  vocab?: ConvertOptions['vocab'];
}

async function sha256File(path: string, hash = createHash('sha256')): Promise<string> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function request(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : url.startsWith('http:') ? httpGet : null;
    if (!get) return reject(new FetchError(`${url}: only http(s) URLs can be fetched`));
    const req = get(url, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        resolve(request(new URL(res.headers.location, url).toString(), headers));
      } else resolve(res);
    });
    req.on('error', reject);
  });
}

/** Downloads url to dest, resuming `<dest>.partial` with a Range request after a cut connection (and across runs),
 *  then checks the sha256: a mismatch deletes the download and throws. */
export async function download(url: string, dest: string, sha256: string | null, options: { retries?: number; progress?: boolean; label?: string } = {}) {
  const partial = `${dest}.partial`;
  const label = options.label ?? url;
  const bar = options.progress === false ? null : createProgress(`${label} (MB)`);
  let attempt = 0;
  for (;;) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    let res: IncomingMessage;
    try {
      res = await request(url, have ? { Range: `bytes=${have}-` } : {});
    } catch (e) {
      if (++attempt > (options.retries ?? 5)) throw new FetchError(`GET ${url}: ${(e as Error).message}`);
      continue;
    }
    const status = res.statusCode ?? 0;
    if (status === 416 && have > 0) { res.resume(); break; } // nothing left: the partial file is complete
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new FetchError(`GET ${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim());
    }
    const append = status === 206 && have > 0;
    const total = Number(status === 206 ? (res.headers['content-range'] ?? '').split('/')[1] : res.headers['content-length']) || 0;
    let done = append ? have : 0;
    const out = createWriteStream(partial, { flags: append ? 'a' : 'w' });
    const finished = await new Promise<boolean>((resolve) => {
      // Settles once the file has everything received so far, so that a resume starts from its true size.
      let settled = false, ended = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        out.end(() => resolve(ended && (!total || done >= total)));
      };
      res.on('data', (chunk: Buffer) => {
        done += chunk.length;
        bar?.(Math.round(done / 1e6), Math.round(total / 1e6));
      });
      res.on('end', () => (ended = true));
      res.on('error', settle);
      res.on('close', settle);
      res.pipe(out, { end: false });
    });
    if (finished) break;
    if (++attempt > (options.retries ?? 5)) throw new FetchError(`GET ${url}: connection cut ${attempt} times; run again to resume`);
  }
  bar?.(1, 1, true);
  if (sha256) {
    const got = await sha256File(partial);
    if (got !== sha256) {
      rmSync(partial, { force: true });
      throw new FetchError(`${url}: sha256 is ${got}, expected ${sha256}; the download was deleted (a wrong or corrupted file)`);
    }
  }
  renameSync(partial, dest);
}

async function urlExists(url: string): Promise<boolean> {
  try {
    const res = await request(url, {});
    res.resume();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** A model directory (manifest.json + files) copied from a URL, every file checked against the manifest. */
async function fetchModelDir(base: string, out: string, options: FetchOptions): Promise<Manifest> {
  mkdirSync(out, { recursive: true });
  const listing = join(out, 'manifest.json.download');
  await download(`${base}/manifest.json`, listing, null, { ...options, progress: false });
  const manifest = JSON.parse(readFileSync(listing, 'utf8')) as Manifest;
  rmSync(listing);
  const affected = affectedConversion(manifest.exporter);
  if (affected)
    throw new FetchError(`${base}/manifest.json: the model directory there was ${affected}; convert it again where it is ` +
      `served (${manifest.exporter.command}), or fetch the checkpoints and convert here`);
  const wanted = manifest.files.filter((f) => !options.precisions || options.precisions.includes(f.precision));
  const items: Array<{ name: string; sha256: string | null }> = [];
  for (const f of wanted) {
    items.push({ name: f.name, sha256: f.sha256 });
    if (f.externalData) items.push(f.externalData);
  }
  if (manifest.vocab.present) items.push({ name: manifest.vocab.file, sha256: manifest.vocab.sha256 ?? null });
  for (const it of items)
    if (typeof it.name !== 'string' || basename(it.name) !== it.name || it.name === '..' || it.name === '.')
      throw new FetchError(`${base}/manifest.json names ${JSON.stringify(it.name)}, not a plain file name in the model directory`);
  for (const it of items) {
    const dest = join(out, it.name);
    if (existsSync(dest) && it.sha256 && (await sha256File(dest)) === it.sha256) continue;
    await download(`${base}/${it.name}`, dest, it.sha256, { ...options, label: it.name });
  }
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ ...manifest, files: wanted }, null, 1)}\n`);
  return manifest;
}

export async function fetchModels(options: FetchOptions): Promise<Manifest> {
  const samType = options.samType ?? 'vit_b';
  const official = OFFICIAL[samType as keyof typeof OFFICIAL];
  const sources = options.sources ?? (official && samType !== 'clip' ? { sam: official, clip: OFFICIAL.clip } : null);
  if (!sources) throw new FetchError(`--sam must be vit_h, vit_l or vit_b, got ${samType}`);
  const from = options.from?.replace(/\/+$/, '');
  const remote = from !== undefined && /^https?:\/\//.test(from);
  if (from !== undefined && !remote && existsSync(join(from, 'manifest.json')))
    throw new FetchError(`${from} is already a model directory: use --models ${from} directly (or serve it over HTTP for --from URL)`);
  if (remote && (await urlExists(`${from}/manifest.json`))) return fetchModelDir(from!, options.out, options);

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
      await download(remote ? `${from}/${src.file}` : src.url, dest, src.sha256, { ...options, label: src.file });
    paths[which] = dest;
  }
  return convertCheckpoints({ sam: paths.sam, clip: paths.clip, out: options.out, samType, precisions: options.precisions,
    templates: options.templates, vocab: options.vocab, progress: options.progress,
    command: `hybridgl models fetch --out ${options.out} --sam ${samType}` });
}
