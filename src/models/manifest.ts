// A model directory's manifest.json read and checked, and its files checked against it (present,
// confined to the directory, their SHA-256 the manifest's) before any session is created.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

import { printable } from '../text/printable.ts';
import { affectedConversion, CONVERTER_NAME } from './converterVersion.ts';
import { PRECISIONS, type Manifest, type ManifestFile, type ModelName, type Precision } from './modelTypes.ts';
import { sha256 } from './sha256Cache.ts';

/** Every problem found with a model directory, in one error that says how to fix it. */
export class ModelLoadError extends Error {
  constructor(readonly dir: string, readonly problems: string[], fix: string) {
    // Manifest text reaches the terminal: control characters are shown escaped.
    super(printable(`models in ${dir} are not usable:\n  - ${problems.map((p) => printable(p)).join('\n  - ')}\n${printable(fix)}`,
      { keepLayout: true }));
    this.name = 'ModelLoadError';
  }
}

const FETCH_HINT = 'hybridgl models fetch --out <dir> (docs/models.md)';
const GENERIC_FIX = `Fetch them: ${FETCH_HINT}; or convert checkpoints you have: hybridgl models convert.`;

/** What to run to get usable models again: the command that wrote them, else fetch or convert. */
export function fixHint(manifest: Partial<Manifest> | null): string {
  const command = manifest?.exporter?.command;
  if (command && manifest?.exporter?.name === CONVERTER_NAME)
    return `Convert them again with this version (it writes over the directory): ${command}`;
  return command ? `Re-export them: ${command} ; or fetch the official ones: ${FETCH_HINT}.` : GENERIC_FIX;
}

/** Reads and checks dir/manifest.json (structure, confined file names); a ModelLoadError lists every problem. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  let parsed: Partial<Manifest>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const why = existsSync(path) ? `manifest.json is not valid JSON (${(e as Error).message})` : 'manifest.json is missing';
    throw new ModelLoadError(dir, [why], GENERIC_FIX);
  }
  const problems: string[] = [];
  if (parsed.format !== 'hybridgl-models' || parsed.formatVersion !== 1)
    problems.push(`manifest.json: format ${JSON.stringify(parsed.format)} v${parsed.formatVersion}, expected hybridgl-models v1`);
  const affected = affectedConversion(parsed.exporter);
  if (affected) problems.push(`manifest.json: ${affected}`);
  if (!Array.isArray(parsed.files) || parsed.files.length === 0) problems.push('manifest.json lists no model files');
  else
    for (const [i, f] of parsed.files.entries())
      if (typeof f?.name !== 'string' || typeof f.sha256 !== 'string' || !Array.isArray(f.inputs) ||
        !Array.isArray(f.outputs) || typeof f.model !== 'string' || !PRECISIONS.includes(f.precision))
        problems.push(`manifest.json: files[${i}] lacks name/model/precision/sha256/inputs/outputs`);
      else if (f.externalData !== undefined && (typeof f.externalData?.name !== 'string' ||
        typeof f.externalData.sha256 !== 'string' || typeof f.externalData.bytes !== 'number'))
        problems.push(`manifest.json: files[${i}] (${f.name}): externalData lacks name/sha256/bytes`);
  if (typeof parsed.logitScale !== 'number') problems.push('manifest.json: logitScale missing');
  if (typeof parsed.vocab?.file !== 'string') problems.push('manifest.json: vocab entry missing');
  const names = [...(Array.isArray(parsed.files) ? parsed.files.flatMap((f) => [f?.name, f?.externalData?.name]) : []),
    parsed.vocab?.file];
  for (const name of names)
    if (typeof name === 'string' && !confined(dir, name))
      problems.push(`manifest.json: file name ${JSON.stringify(name)} is not inside the models directory`);
  if (problems.length) throw new ModelLoadError(dir, problems, fixHint(parsed));
  return parsed as Manifest;
}

/** Whether `name` is a plain relative path that stays inside `dir`, symbolic links resolved where they exist. */
function confined(dir: string, name: string): boolean {
  if (name === '' || isAbsolute(name) || name.includes('\0')) return false;
  const inside = (base: string, path: string) => {
    const rel = relative(base, path);
    return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
  };
  if (!inside(resolve(dir), resolve(dir, name))) return false;
  try {
    return inside(realpathSync(dir), realpathSync(join(dir, name)));
  } catch {
    return true; // not there (yet): reported as missing
  }
}

/** The files of one precision that a load uses, each checked against the manifest. */
export interface CheckedFiles {
  /** The manifest's file of each model of the precision. */
  byModel: Map<ModelName, ManifestFile>;
  /** The models to load: those asked for, else every model of the precision. */
  wanted: ModelName[];
  /** The vocabulary (vocabPath, else the directory's), or null when there is none. */
  vocabPath: string | null;
}

/** The file a load of `precision` uses for each model in the manifest: that precision's; for int8, whose graphs
 *  exist only for the models int8 speeds up (the CLIP trunk and heads), fp32's for the others. */
export function filesOfPrecision(manifest: Manifest, precision: Precision): Map<ModelName, ManifestFile> {
  const byModel = new Map<ModelName, ManifestFile>();
  for (const f of manifest.files) if (f.precision === precision) byModel.set(f.model, f);
  if (precision === 'int8')
    for (const f of manifest.files) if (f.precision === 'fp32' && !byModel.has(f.model)) byModel.set(f.model, f);
  return byModel;
}

/** The precisions a directory must hold for loads of `precisions`: int8 brings fp32, which its other models use. */
export function precisionsToWrite(precisions: readonly Precision[]): Precision[] {
  const out = [...new Set(precisions)];
  return out.includes('int8') && !out.includes('fp32') ? ['fp32', ...out] : out;
}

/** Checks that each wanted model of `precision` has its file (and external data) with the manifest's size and
 *  SHA-256, and the vocabulary its hash; a ModelLoadError lists every problem. */
export async function checkModelFiles(dir: string, manifest: Manifest, precision: Precision,
  models: ModelName[] | undefined, vocabOverride: string | undefined): Promise<CheckedFiles> {
  const problems: string[] = [];
  const byModel = filesOfPrecision(manifest, precision);
  if (precision === 'int8' && !manifest.files.some((f) => f.precision === 'int8')) problems.push('no int8 file in manifest.json ' +
    '(hybridgl models convert|fetch … --precision int8 writes them, or models/export.py --int8)');
  const wanted = models ?? [...byModel.keys()];
  for (const name of wanted) if (!byModel.has(name)) problems.push(`no ${precision} file for ${name} in manifest.json`);
  for (const name of wanted) {
    const file = byModel.get(name);
    if (file) problems.push(...await fileProblems(dir, file));
  }
  let vocabPath: string | null = null;
  const vocabCandidate = vocabOverride ?? (manifest.vocab.present ? join(dir, manifest.vocab.file) : null);
  if (vocabCandidate) {
    if (!existsSync(vocabCandidate)) problems.push(`vocabulary ${vocabCandidate} is missing`);
    else if (manifest.vocab.sha256 && (await sha256(vocabCandidate)) !== manifest.vocab.sha256)
      problems.push(`vocabulary ${vocabCandidate} has the wrong sha256 (not CLIP's bpe_simple_vocab_16e6)`);
    else vocabPath = vocabCandidate;
  }
  if (problems.length) throw new ModelLoadError(dir, problems, fixHint(manifest));
  return { byModel, wanted, vocabPath };
}

/** A model file and its external data: present, of the manifest's size (external data) and SHA-256. */
async function fileProblems(dir: string, file: ManifestFile): Promise<string[]> {
  const problems: string[] = [];
  const path = join(dir, file.name);
  if (!existsSync(path)) problems.push(`${file.name} is missing`);
  else if ((await sha256(path)) !== file.sha256) problems.push(`${file.name} has the wrong sha256 (changed or truncated)`);
  const data = file.externalData;
  if (!data) return problems;
  const dataPath = join(dir, data.name);
  if (!existsSync(dataPath)) problems.push(`${data.name} (external data of ${file.name}) is missing`);
  else if (statSync(dataPath).size !== data.bytes)
    problems.push(`${data.name} (external data of ${file.name}) is ${statSync(dataPath).size} bytes, the manifest says ${data.bytes} (truncated?)`);
  else if ((await sha256(dataPath)) !== data.sha256)
    problems.push(`${data.name} (external data of ${file.name}) has the wrong sha256 (changed or truncated)`);
  return problems;
}
