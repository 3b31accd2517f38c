// Models: readers for the two official checkpoint formats, through the safe pickle reader with an allow-list of
// exactly the globals they use. SAM ships `torch.save(state_dict)` (zip: <name>/data.pkl + <name>/data/<key>);
// OpenAI's CLIP ViT-B-16.pt is a TorchScript archive (zip: data.pkl holding the module tree as records of
// `__torch__.*` classes, constants.pkl, code/), whose tensors are the module's state_dict() as clip.load reads it.
import { PickleError, PickleGlobal, PickleRecord, readPickle, type PickleAllowList, type PickleValue } from '../data/pickle.ts';
import { ZipArchive, type ZipEntry } from './zipArchive.ts';

export type StorageDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

const STORAGES: Record<string, { dtype: StorageDtype; bytes: number }> = {
  'torch.FloatStorage': { dtype: 'float32', bytes: 4 }, 'torch.HalfStorage': { dtype: 'float16', bytes: 2 },
  'torch.BFloat16Storage': { dtype: 'bfloat16', bytes: 2 }, 'torch.DoubleStorage': { dtype: 'float64', bytes: 8 },
  'torch.LongStorage': { dtype: 'int64', bytes: 8 }, 'torch.IntStorage': { dtype: 'int32', bytes: 4 },
  'torch.ByteStorage': { dtype: 'uint8', bytes: 1 }, 'torch.BoolStorage': { dtype: 'bool', bytes: 1 },
};

export class CheckpointError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'CheckpointError';
  }
}

/** The most elements one tensor read may give (a Float32Array of 8 GiB). */
const MAX_READ_ELEMENTS = 2 ** 31;

interface StorageRef { key: string; dtype: StorageDtype; itemBytes: number; numel: number; entry: ZipEntry }

/** One tensor of a checkpoint: its place in a storage; the values are read only when asked for. */
export class CheckpointTensor {
  /** The state_dict key, once known (for errors). */
  name = '(unnamed)';

  constructor(private readonly archive: ZipArchive, private readonly entry: ZipEntry,
    readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}

  get dtype(): StorageDtype {
    return this.storage.dtype;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The values as float32 (float16/bfloat16 widen exactly; float64 rounds to nearest, as torch's .float()). */
  readFloat32(): Float32Array {
    const { dtype, itemBytes } = this.storage;
    const n = this.numel;
    // The storage span this view touches (contiguous or not), checked against the storage's declared elements (as
    // torch's set_ does): a view reaching past them would read another tensor's bytes.
    let last = this.offset;
    for (let i = 0; i < this.shape.length; i++) if (this.shape[i] > 0) last += (this.shape[i] - 1) * this.stride[i];
    if (!Number.isSafeInteger(n) || n > MAX_READ_ELEMENTS)
      throw new CheckpointError(this.archive.path, `tensor ${this.name} of shape [${this.shape.join(', ')}] is too large to read`);
    if (n > 0 && last >= this.storage.numel)
      throw new CheckpointError(this.archive.path, `tensor ${this.name} reaches element ${last} of storage ` +
        `${this.storage.key}, which has ${this.storage.numel}`);
    const first = this.offset * itemBytes;
    const raw = n === 0 ? new Uint8Array(0) : this.archive.read(this.entry.offset + first, (last - this.offset + 1) * itemBytes);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const get: (i: number) => number =
      dtype === 'float32' ? (i) => view.getFloat32(i * 4, true)
        : dtype === 'float16' ? (i) => halfToFloat(view.getUint16(i * 2, true))
          : dtype === 'bfloat16' ? (i) => bfloatToFloat(view.getUint16(i * 2, true))
            : dtype === 'float64' ? (i) => view.getFloat64(i * 8, true)
              : () => {
                throw new CheckpointError(this.archive.path, `tensor of ${dtype} where floats are expected`);
              };
    const out = new Float32Array(n);
    if (n === 0) return out;
    const contiguous = this.stride.every((s, i) => this.shape[i] === 1 ||
      s === this.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    if (contiguous) {
      if (dtype === 'float32' && raw.byteOffset % 4 === 0) out.set(new Float32Array(raw.buffer, raw.byteOffset, n));
      else if (dtype === 'float16' && raw.byteOffset % 2 === 0) {
        const bits = new Uint16Array(raw.buffer, raw.byteOffset, n);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(bits[i]);
      } else for (let i = 0; i < n; i++) out[i] = get(i);
      return out;
    }
    const idx = new Array(this.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let at = 0;
      for (let d = 0; d < idx.length; d++) at += idx[d] * this.stride[d];
      out[i] = get(at);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < this.shape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  }
}

function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | null = null;
/** Every half value, widened (exact): a lookup per element. */
function halfToFloat(h: number): number {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfBitsToFloat(i);
  }
  return halfTable[h];
}

const bf = new DataView(new ArrayBuffer(4));
function bfloatToFloat(b: number): number {
  bf.setUint32(0, b << 16);
  return bf.getFloat32(0);
}

export interface Checkpoint {
  path: string;
  format: 'torch.save' | 'torchscript';
  /** Every tensor, by its state_dict key. */
  tensors: Map<string, CheckpointTensor>;
  close(): void;
}

/** The globals these files use, each mapped to data; anything else is refused by the pickle reader. */
function allowList(path: string, archive: ZipArchive, prefix: string): PickleAllowList {
  const storages = new Map<string, StorageRef>();
  const asInts = (v: PickleValue, what: string): number[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0))
      throw new CheckpointError(path, `tensor ${what} is not a tuple of sizes`);
    return v as number[];
  };
  return {
    values: Object.keys(STORAGES),
    dicts: ['collections.OrderedDict'],
    // TorchScript module classes (__torch__.<module path>.<Class>) become plain records of their attributes.
    records: (q) => q.startsWith('__torch__.'),
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof PickleGlobal) || typeof pid[2] !== 'string')
        throw new CheckpointError(path, `unknown persistent id ${describeValue(pid)}`);
      const type = Object.hasOwn(STORAGES, pid[1].qualified) ? STORAGES[pid[1].qualified] : undefined;
      if (!type) throw new CheckpointError(path, `storage ${pid[2]} has type ${pid[1].qualified}, not a torch storage type`);
      const key = pid[2];
      const numel = pid[4];
      if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0)
        throw new CheckpointError(path, `storage ${key} declares ${describeValue(numel)} elements`);
      const name = `${prefix}data/${key}`;
      if (!archive.entries.has(name))
        throw new CheckpointError(path, `storage data/${key} is missing from the archive (truncated or not a checkpoint)`);
      const entry = archive.storedEntry(name);
      // torch reads numel × item bytes from the record: a shorter record is a cut or forged file.
      if (numel * type.bytes > entry.size)
        throw new CheckpointError(path, `storage ${key} declares ${numel} ${type.dtype} elements (${numel * type.bytes} bytes), ` +
          `its entry ${name} holds ${entry.size} bytes (truncated?)`);
      const ref = storages.get(key) ?? { key, dtype: type.dtype, itemBytes: type.bytes, numel, entry };
      if (ref.dtype !== type.dtype || ref.numel !== numel)
        throw new CheckpointError(path, `storage ${key} is declared twice, as ${ref.numel} ${ref.dtype} and as ${numel} ${type.dtype}`);
      storages.set(key, ref);
      return ref;
    },
    reduce: {
      // Scripted modules' typed list attributes (e.g. Conv2d's _reversed_padding_repeated_twice): the list itself.
      'torch.jit._pickle.build_intlist': (args) => args[0],
      'torch.jit._pickle.build_doublelist': (args) => args[0],
      'torch.jit._pickle.build_boollist': (args) => args[0],
      'torch._utils._rebuild_tensor_v2': (args) => {
        const [storage, offset, size, stride] = args as [unknown, PickleValue, PickleValue, PickleValue];
        if (!storages.has((storage as StorageRef)?.key) || storages.get((storage as StorageRef).key) !== storage)
          throw new CheckpointError(path, 'tensor without a storage');
        const ref = storage as StorageRef;
        if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
          throw new CheckpointError(path, `tensor in storage ${ref.key} has storage offset ${describeValue(offset)}`);
        const shape = asInts(size, 'size'), strides = asInts(stride, 'stride');
        if (shape.length !== strides.length)
          throw new CheckpointError(path, `tensor in storage ${ref.key} has ${shape.length} sizes and ${strides.length} strides`);
        return new CheckpointTensor(archive, ref.entry, ref, offset, shape, strides);
      },
    },
  };
}

/** A pickle value, briefly, for an error message. */
function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v.toString().slice(0, 24)}${v.toString().length > 24 ? '…' : ''}`;
  if (v instanceof PickleGlobal) return v.qualified;
  if (Array.isArray(v)) return `(${v.slice(0, 6).map(describeValue).join(', ')}${v.length > 6 ? ', …' : ''})`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' && v !== null ? (v.constructor?.name ?? 'object') : String(v);
}

/** Tensors of a TorchScript module tree, by dotted attribute path (the state_dict keys). */
function collectRecordTensors(node: PickleRecord, prefix: string, out: Map<string, CheckpointTensor>, depth = 0) {
  if (depth > 64) return;
  const state = node.state;
  if (state === null || typeof state !== 'object' || Array.isArray(state) || state instanceof Map) return;
  for (const [k, v] of Object.entries(state as Record<string, unknown>)) {
    if (v instanceof CheckpointTensor) {
      v.name = prefix + k;
      out.set(v.name, v);
    } else if (v instanceof PickleRecord) collectRecordTensors(v, `${prefix}${k}.`, out, depth + 1);
  }
}

/** Opens a torch.save zip or a TorchScript archive; reads its pickle now and tensor values on demand. */
export function openCheckpoint(path: string): Checkpoint {
  const archive = new ZipArchive(path);
  try {
    const pkl = [...archive.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) throw new CheckpointError(path, 'no <archive>/data.pkl: not a PyTorch checkpoint (torch.save zip or TorchScript archive)');
    const prefix = pkl.slice(0, -'data.pkl'.length);
    const torchscript = archive.entries.has(`${prefix}constants.pkl`) || [...archive.entries.keys()].some((n) => n.startsWith(`${prefix}code/`));
    let root: PickleValue;
    try {
      root = readPickle(archive.readEntry(pkl), { stringEncoding: 'utf8', allow: allowList(path, archive, prefix) });
    } catch (e) {
      if (e instanceof PickleError) throw new CheckpointError(path, `${pkl}: ${e.message}`);
      throw e;
    }
    const tensors = new Map<string, CheckpointTensor>();
    const rootObj = root as unknown;
    if (rootObj instanceof PickleRecord) collectRecordTensors(rootObj, '', tensors);
    else if (rootObj !== null && typeof rootObj === 'object' && !Array.isArray(rootObj)) {
      const entries = rootObj instanceof Map ? [...rootObj.entries()] : Object.entries(rootObj as object);
      for (const [k, v] of entries) {
        if (typeof k !== 'string' || !(v instanceof CheckpointTensor)) continue;
        v.name = k;
        tensors.set(k, v);
      }
    }
    if (tensors.size === 0) throw new CheckpointError(path, 'holds no tensors (not a state_dict or module archive)');
    return { path, format: torchscript ? 'torchscript' : 'torch.save', tensors, close: () => archive.close() };
  } catch (e) {
    archive.close();
    throw e;
  }
}
