// PNG encoder (8-bit gray / RGB / RGBA, and 8-bit indexed for label maps; no interlace) on node:zlib. The format is small enough to
// write directly: signature, IHDR, one zlib-compressed IDAT of filtered rows, IEND, each chunk with a
// CRC-32. Every row uses filter 1 (Sub), which turns the flat areas of plots and masks into zeros.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Image, Rgb } from './image.js';

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

/**
 * An indexed-colour (palette) PNG of a label map: each pixel's byte is its class index, the palette
 * gives each class a colour. Readers that keep the indices (PIL's mode 'P', ITK-SNAP, MATLAB's
 * imread with its map) get the classes back; any other viewer shows the colours.
 */
export function encodeIndexedPng(width: number, height: number, indices: Uint8Array, palette: readonly Rgb[]): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new Error(`encodeIndexedPng: bad size ${width}×${height}`);
  if (indices.length !== width * height) throw new Error(`encodeIndexedPng: ${indices.length} indices do not fit ${width}×${height}`);
  if (palette.length < 1 || palette.length > 256) throw new Error(`encodeIndexedPng: a palette has 1..256 colours, got ${palette.length}`);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= palette.length) throw new Error(`encodeIndexedPng: index ${indices[i]} at pixel ${i} has no palette colour (${palette.length} colours)`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 3, 0, 0, 0], 8); // bit depth 8, colour type 3 (indexed)
  const plte = Uint8Array.from(palette.flatMap((c) => [c[0], c[1], c[2]]));
  // Filter 0 (None) on every row: differences of class indices mean nothing (the PNG spec's advice for palettes).
  const rows = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return concat([SIGNATURE, chunk('IHDR', header), chunk('PLTE', plte), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array(0))]);
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
