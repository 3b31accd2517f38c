// Zip files for the checkpoint tests: read a fixture checkpoint's entries, change them, write them back (stored or
// deflated, optionally with a directory record pointing at another entry's bytes or a declared size that lies).
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export interface ZipFileEntry {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflated. */
  method?: number;
  /** Deflated bytes to write as they are (a zip bomb), with `data` unused. */
  raw?: Uint8Array;
  /** The uncompressed size the directory declares (default: the true one). */
  declaredSize?: number;
  /** The entry whose local header this one's directory record points at (default: its own). */
  pointAt?: string;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The entries of a (non-zip64) archive, deflated ones inflated. */
export function readZipEntries(zip: Uint8Array): ZipFileEntry[] {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (v.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const out: ZipFileEntry[] = [];
  for (let i = 0; i < count; i++) {
    const method = v.getUint16(p + 10, true), size = v.getUint32(p + 20, true);
    const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true), commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = Buffer.from(zip.subarray(p + 46, p + 46 + nameLen)).toString('utf8');
    const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    const body = zip.slice(start, start + size);
    out.push({ name, data: method === 8 ? new Uint8Array(inflateRawSync(body)) : body, method });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** A zip archive of the entries, in order. */
export function writeZip(entries: ZipFileEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  const locals = new Map<string, number>();
  let at = 0;
  const records: Array<{ e: ZipFileEntry; name: Buffer; crc: number; body: Uint8Array; size: number }> = [];
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method ?? 0;
    const body = e.raw ?? (method === 8 ? deflateRawSync(e.data) : e.data);
    const size = e.declaredSize ?? e.data.length;
    const crc = crc32(e.data);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(method, 8);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(body.length, 18);
    h.writeUInt32LE(size, 22);
    h.writeUInt16LE(name.length, 26);
    locals.set(e.name, at);
    parts.push(h, name, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    at += 30 + name.length + body.length;
    records.push({ e, name, crc, body, size });
  }
  const cdStart = at;
  for (const { e, name, crc, body, size } of records) {
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(e.method ?? 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(locals.get(e.pointAt ?? e.name)!, 42);
    parts.push(c, name);
    at += 46 + name.length;
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(at - cdStart, 12);
  end.writeUInt32LE(cdStart, 16);
  parts.push(end);
  return new Uint8Array(Buffer.concat(parts));
}
