// Models: the zip container of PyTorch checkpoints (torch.save and TorchScript archives), read from its central
// directory. PyTorch writes every entry STORED (uncompressed, 64-byte aligned), so an entry is a byte range of the
// file and is read on demand (TorchScript's code/ files are deflated: read whole); zip64 is followed past 4 GiB.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** Where the entry's bytes start in the file, and how many there are (as stored). */
  offset: number;
  size: number;
  /** 0 stored, 8 deflated. */
  method: number;
  /** The size its directory declares once inflated (= size when stored). */
  inflatedSize: number;
}

/** An entry read whole (a pickle) may not declare more than this, nor inflate beyond what it declares. */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;
/** Nor declare more than this many bytes per compressed byte (a pickle deflates ~10:1; a zip bomb ~1000:1). */
export const MAX_INFLATE_RATIO = 200;

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;
  readonly size: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new ZipError(path, `cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const stat = fstatSync(this.fd);
      if (!stat.isFile()) this.fail(`is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}, not a checkpoint file`);
      this.size = stat.size;
      this.readDirectory();
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  private fail(message: string): never {
    throw new ZipError(this.path, message);
  }

  /** Reads exactly n bytes at a file offset (a short read means the file is truncated). */
  read(offset: number, n: number, into?: Uint8Array): Uint8Array {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(n) || offset < 0 || n < 0 || offset + n > this.size)
      this.fail(`truncated: needs bytes ${offset}..${offset + n}, the file has ${this.size}`);
    const buf = into ?? new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, offset + got);
      if (r === 0) this.fail(`truncated: needs bytes up to ${offset + n}, the file has ${this.size}`);
      got += r;
    }
    return buf;
  }

  private readDirectory() {
    const tailSize = Math.min(this.size, 65535 + 22);
    if (tailSize < 22) this.fail('not a zip archive (too short) — a PyTorch checkpoint is a zip file');
    const tail = this.read(this.size - tailSize, tailSize);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let at = -1;
    for (let i = tailSize - 22; i >= 0; i--) if (tv.getUint32(i, true) === EOCD) { at = i; break; }
    if (at < 0) this.fail('not a zip archive or truncated (no end-of-central-directory record) — re-download it');
    let count = tv.getUint16(at + 10, true);
    let cdSize = tv.getUint32(at + 12, true);
    let cdOffset = tv.getUint32(at + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (at < 20 || tv.getUint32(at - 20, true) !== ZIP64_LOCATOR) this.fail('zip64 archive without its locator');
      const eocd64 = Number(tv.getBigUint64(at - 20 + 8, true));
      const rec = this.read(eocd64, 56);
      const rv = new DataView(rec.buffer);
      if (rv.getUint32(0, true) !== ZIP64_EOCD) this.fail('bad zip64 end-of-central-directory record');
      count = Number(rv.getBigUint64(32, true));
      cdSize = Number(rv.getBigUint64(40, true));
      cdOffset = Number(rv.getBigUint64(48, true));
    }
    if (cdOffset + cdSize > this.size) this.fail('truncated (the central directory lies past the end of the file)');
    if (count * 46 > cdSize) this.fail(`corrupt central directory (${count} entries cannot fit in ${cdSize} bytes)`);
    const cd = this.read(cdOffset, cdSize);
    const v = new DataView(cd.buffer);
    const utf8 = new TextDecoder();
    // Each entry's span in the file, from its local header to the end of its data: they may not overlap (one
    // entry's directory record pointing at another's bytes would read other data under its name).
    const spans: Array<{ name: string; start: number; end: number }> = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL) this.fail(`corrupt central directory at entry ${i}`);
      const method = v.getUint16(p + 10, true);
      let compressed = v.getUint32(p + 20, true);
      let size = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true), commentLen = v.getUint16(p + 32, true);
      let local = v.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) this.fail(`corrupt central directory at entry ${i}`);
      const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
      const name = utf8.decode(nameBytes);
      // zip64 extended information: the 8-byte values, in order, for each field saturated above.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = v.getUint16(e, true), len = v.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) this.fail(`entry ${name}: corrupt extra field`);
        if (id === 0x0001) {
          let q = e + 4;
          const next = () => {
            if (q + 8 > e + 4 + len) this.fail(`entry ${name}: zip64 field too short`);
            const x = Number(v.getBigUint64(q, true));
            q += 8;
            return x;
          };
          if (size === 0xffffffff) size = next();
          if (compressed === 0xffffffff) compressed = next();
          if (local === 0xffffffff) local = next();
        }
        e += 4 + len;
      }
      p = extraEnd + commentLen;
      if (this.entries.has(name)) this.fail(`entry ${name} is listed twice`);
      if (method !== 0 && method !== 8) this.fail(`entry ${name} uses compression method ${method}`);
      if (method === 0 && compressed !== size) this.fail(`entry ${name}: stored sizes differ`);
      const header = this.read(local, 30);
      const hv = new DataView(header.buffer);
      if (hv.getUint32(0, true) !== LOCAL) this.fail(`entry ${name}: bad local header`);
      const localNameLen = hv.getUint16(26, true);
      const localName = this.read(local + 30, localNameLen);
      if (Buffer.compare(localName, nameBytes) !== 0)
        this.fail(`entry ${name}: its directory record points at the data of ${JSON.stringify(utf8.decode(localName))}`);
      const offset = local + 30 + localNameLen + hv.getUint16(28, true);
      if (offset + compressed > cdOffset) this.fail(`truncated: entry ${name} ends past the end of its data`);
      spans.push({ name, start: local, end: offset + compressed });
      this.entries.set(name, { name, offset, size: compressed, method, inflatedSize: size });
    }
    spans.sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++)
      if (spans[i].start < spans[i - 1].end) this.fail(`entries ${spans[i - 1].name} and ${spans[i].name} overlap`);
  }

  entry(name: string): ZipEntry {
    return this.entries.get(name) ?? this.fail(`has no entry ${name}`);
  }

  /** A stored entry, whose bytes can be read in place. */
  storedEntry(name: string): ZipEntry {
    const e = this.entry(name);
    if (e.method !== 0) this.fail(`entry ${name} is compressed; PyTorch stores tensor data uncompressed`);
    return e;
  }

  /** A whole entry in memory (a pickle): its declared size is checked before anything is read or inflated, and
   *  inflation stops at that size. */
  readEntry(name: string, maxBytes = MAX_ENTRY_BYTES): Uint8Array {
    const e = this.entry(name);
    if (e.inflatedSize > maxBytes) this.fail(`entry ${name} declares ${e.inflatedSize} bytes, more than the ${maxBytes} allowed`);
    if (e.method === 0) return this.read(e.offset, e.size);
    if (e.inflatedSize > Math.max(1 << 20, e.size * MAX_INFLATE_RATIO))
      this.fail(`entry ${name} declares ${e.inflatedSize} bytes from ${e.size} compressed (over ${MAX_INFLATE_RATIO}:1): a zip bomb?`);
    let out: Buffer;
    try {
      // maxOutputLength stops zlib as soon as it has produced more than the entry declares.
      out = inflateRawSync(this.read(e.offset, e.size), { maxOutputLength: Math.max(1, e.inflatedSize) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        this.fail(`entry ${name} inflates beyond the ${e.inflatedSize} bytes it declares`);
      this.fail(`entry ${name} does not inflate (${(err as Error).message})`);
    }
    if (out.length !== e.inflatedSize) this.fail(`entry ${name} inflates to ${out.length} bytes, not the ${e.inflatedSize} it declares`);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  close() {
    closeSync(this.fd);
  }
}
