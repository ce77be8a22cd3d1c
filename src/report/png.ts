// PNG encoder (8-bit gray / RGB / RGBA, no interlace) on node:zlib. The format is small enough to
// write directly: signature, IHDR, one zlib-compressed IDAT of filtered rows, IEND, each chunk with a
// CRC-32. Every row uses filter 1 (Sub), which turns the flat areas of plots and masks into zeros.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Image } from './image.js';

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOUR_TYPE: Record<Image['channels'], number> = { 1: 0, 3: 2, 4: 6 };

export function encodePng(img: Image): Uint8Array {
  const { width, height, channels, data } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`encodePng: bad size ${width}×${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: ${data.length} bytes do not fit ${width}×${height}×${channels}`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, COLOUR_TYPE[channels], 0, 0, 0], 8); // bit depth, colour type, compression, filter, interlace
  return concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(subFiltered(img))), chunk('IEND', new Uint8Array(0))]);
}

export function writePng(path: string, img: Image): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodePng(img));
}

/** Each row prefixed by its filter byte 1 and stored as differences to the pixel on the left. */
function subFiltered({ width, height, channels, data }: Image): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const row = y * stride;
    out[o] = 1;
    for (let i = 0; i < stride; i++) out[o + 1 + i] = (data[row + i] - (i >= channels ? data[row + i - channels] : 0)) & 0xff;
  }
  return out;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) over chunk type and data, as PNG requires. */
function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
