// Models: the shape of a manifest.json that came from elsewhere (`models fetch --from URL`), checked field by field
// before any of its files is requested: what a download trusts (names, sizes, hashes) must be well-formed.
import { PRECISIONS, type Manifest } from './modelTypes.ts';

/** Most files a manifest may list (a full directory has ~16: each model in two precisions, external data, vocab). */
export const MAX_MANIFEST_FILES = 64;
const SHA256 = /^[0-9a-f]{64}$/;

/** Why `name` is not a plain file name of the model directory, or null: not empty, no NUL or other control
 *  character, no separator, not `.`/`..`, not the manifest itself, at most 255 bytes. */
export function fileNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `must be a file name string, got ${name === null ? 'null' : typeof name}`;
  if (name === '') return 'is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${JSON.stringify(name)} has a control character`;
  if (name.includes('/') || name.includes('\\')) return `${JSON.stringify(name)} has a path separator`;
  if (name === '.' || name === '..') return `${JSON.stringify(name)} is not a file name`;
  if (name === 'manifest.json' || name.endsWith('.partial')) return `${JSON.stringify(name)} is a name fetch keeps for itself`;
  if (Buffer.byteLength(name) > 255) return 'is longer than 255 bytes';
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkEntry(entry: unknown, field: string, problems: string[], withModel: boolean): void {
  if (!isObject(entry)) {
    problems.push(`${field} must be an object`);
    return;
  }
  const name = fileNameProblem(entry.name);
  if (name) problems.push(`${field}.name ${name}`);
  if (typeof entry.sha256 !== 'string' || !SHA256.test(entry.sha256)) problems.push(`${field}.sha256 must be 64 lowercase hex digits`);
  if (!Number.isSafeInteger(entry.bytes) || (entry.bytes as number) < 0) problems.push(`${field}.bytes must be a non-negative integer`);
  if (!withModel) return;
  if (typeof entry.model !== 'string' || entry.model === '') problems.push(`${field}.model must be a model name`);
  if (!(PRECISIONS as readonly unknown[]).includes(entry.precision))
    problems.push(`${field}.precision must be one of ${PRECISIONS.map((p) => `"${p}"`).join(', ')}`);
  if (entry.externalData !== undefined) checkEntry(entry.externalData, `${field}.externalData`, problems, false);
}

/** The first problems (at most 5) with a parsed manifest's shape, each naming its field; empty when it is sound. */
export function manifestShapeProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(value)) return ['the manifest must be a JSON object'];
  const { files, vocab, logitScale } = value;
  if (!Array.isArray(files) || files.length === 0) problems.push('files must be a non-empty array');
  else if (files.length > MAX_MANIFEST_FILES) problems.push(`files lists ${files.length} entries, more than ${MAX_MANIFEST_FILES}`);
  else files.forEach((f, i) => checkEntry(f, `files[${i}]`, problems, true));
  if (!isObject(vocab)) problems.push('vocab must be an object { file, present, sha256 }');
  else {
    const name = fileNameProblem(vocab.file);
    if (name) problems.push(`vocab.file ${name}`);
    if (typeof vocab.present !== 'boolean') problems.push('vocab.present must be true or false');
    if (vocab.sha256 !== undefined && (typeof vocab.sha256 !== 'string' || !SHA256.test(vocab.sha256))) problems.push('vocab.sha256 must be 64 lowercase hex digits');
  }
  if (typeof logitScale !== 'number' || !Number.isFinite(logitScale)) problems.push('logitScale must be a finite number');
  if (problems.length === 0) {
    // Two entries naming one file would overwrite each other.
    const seen = new Set<string>();
    const m = value as unknown as Manifest;
    for (const name of [...m.files.flatMap((f) => [f.name, f.externalData?.name]), ...(m.vocab.present ? [m.vocab.file] : [])]) {
      if (name === undefined) continue;
      if (seen.has(name)) problems.push(`${JSON.stringify(name)} is named by two entries`);
      seen.add(name);
    }
  }
  return problems.slice(0, 5);
}
