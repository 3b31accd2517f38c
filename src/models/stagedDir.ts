// Models: an output directory written whole or not at all. Files are written into a staging directory and moved in
// at the end, the file that makes the directory usable (manifest.json) last; a failure removes the staging directory,
// so what a failed or interrupted run leaves is never mistaken for a complete model directory.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface StagedDir {
  /** Where to write. */
  readonly dir: string;
  /** Moves everything into the output directory, `last` last (after removing the output's old `last` first, so
   *  that no moment shows an old manifest beside new files), and deletes `remove` (stale files) there. */
  commit(last: string, remove?: string[]): void;
  /** Removes what was staged; the output directory is as it was. */
  abort(): void;
}

/**
 * Stages writes to `out`. A missing or empty `out` is written as a sibling directory renamed onto it at the end (one
 * atomic step); into an `out` that holds other files (`models fetch` keeps its downloads there) the files are moved
 * one by one, `last` last. Throws (a Node error) when `out` is a file or cannot be created.
 */
export function stageDirectory(out: string): StagedDir {
  const target = resolve(out);
  if (existsSync(target) && !statSync(target).isDirectory()) throw new Error(`${out} exists and is not a directory`);
  const fresh = !existsSync(target) || readdirSync(target).length === 0;
  let dir: string;
  if (fresh) {
    mkdirSync(dirname(target), { recursive: true });
    dir = mkdtempSync(join(dirname(target), `.${basename(target)}.partial-`));
  } else dir = mkdtempSync(join(target, '.partial-'));
  return {
    dir,
    commit(last, remove = []) {
      if (fresh) {
        if (existsSync(target)) rmdirSync(target); // empty (checked when staging began)
        renameSync(dir, target);
        return;
      }
      rmSync(join(target, last), { force: true });
      for (const name of remove) rmSync(join(target, name), { force: true });
      for (const name of readdirSync(dir)) if (name !== last) renameSync(join(dir, name), join(target, name));
      renameSync(join(dir, last), join(target, last));
      rmSync(dir, { recursive: true, force: true });
    },
    abort() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
