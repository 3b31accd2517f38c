// The SHA-256 of model files, remembered across runs. Hashing 1.3 GB of models costs seconds at
// start-up, so a file's hash is kept with its identity (device, inode, size, mtime and ctime in ns) in the user's
// cache directory and recomputed whenever any of them changes.
//
// Environment, read here only:
//   XDG_CACHE_HOME          the cache directory's root (default ~/.cache): the hashes live in hybridgl/sha256.json
//                           (read once, when this module loads)
//   HYBRIDGL_SHA256_CACHE   0: hash every file every time (read at each hash)
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const hashCachePath = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hybridgl', 'sha256.json');
const cacheTurnedOff = () => process.env.HYBRIDGL_SHA256_CACHE === '0';

let hashCache: Record<string, string> | null = null;

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The file's SHA-256 in hex, from the cache when the file is the one hashed before. */
export async function sha256(path: string): Promise<string> {
  if (cacheTurnedOff()) return hashFile(path);
  const st = statSync(path, { bigint: true });
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  if (!hashCache) {
    try {
      hashCache = JSON.parse(readFileSync(hashCachePath, 'utf8'));
    } catch {
      hashCache = {};
    }
  }
  const cached = hashCache![key];
  if (cached) return cached;
  const digest = await hashFile(path);
  hashCache![key] = digest;
  try {
    mkdirSync(dirname(hashCachePath), { recursive: true });
    writeFileSync(hashCachePath, JSON.stringify(hashCache));
  } catch { /* a read-only home: hash again next time */ }
  return digest;
}
