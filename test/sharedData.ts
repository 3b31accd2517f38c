// Locates the project's shared/ data directory: beside the clone (CI), or beside the parent of a git worktree.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const SHARED_DIR =
  process.env.HYBRIDGL_SHARED ??
  [join(root, '..', 'shared'), join(root, '..', '..', 'shared')].find((dir) => existsSync(dir)) ??
  join(root, '..', 'shared');

export const CLIP_VOCAB_PATH = join(SHARED_DIR, 'data', 'clip', 'bpe_simple_vocab_16e6.txt.gz');
