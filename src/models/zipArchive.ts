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
}

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;
  readonly size: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.size = fstatSync(this.fd).size;
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
    const cd = this.read(cdOffset, cdSize);
    const v = new DataView(cd.buffer);
    const utf8 = new TextDecoder();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL) this.fail(`corrupt central directory at entry ${i}`);
      const method = v.getUint16(p + 10, true);
      let compressed = v.getUint32(p + 20, true);
      let size = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true), commentLen = v.getUint16(p + 32, true);
      let local = v.getUint32(p + 42, true);
      const name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // zip64 extended information: the 8-byte values, in order, for each field saturated above.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = v.getUint16(e, true), len = v.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          const next = () => { const x = Number(v.getBigUint64(q, true)); q += 8; return x; };
          if (size === 0xffffffff) size = next();
          if (compressed === 0xffffffff) compressed = next();
          if (local === 0xffffffff) local = next();
        }
        e += 4 + len;
      }
      p = extraEnd + commentLen;
      if (method !== 0 && method !== 8) this.fail(`entry ${name} uses compression method ${method}`);
      if (method === 0 && compressed !== size) this.fail(`entry ${name}: stored sizes differ`);
      const header = this.read(local, 30);
      const hv = new DataView(header.buffer);
      if (hv.getUint32(0, true) !== LOCAL) this.fail(`entry ${name}: bad local header`);
      const offset = local + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
      if (offset + compressed > this.size) this.fail(`truncated: entry ${name} ends past the end of the file`);
      this.entries.set(name, { name, offset, size: compressed, method });
    }
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

  readEntry(name: string): Uint8Array {
    const e = this.entry(name);
    const raw = this.read(e.offset, e.size);
    return e.method === 8 ? new Uint8Array(inflateRawSync(raw)) : raw;
  }

  close() {
    closeSync(this.fd);
  }
}
