// Reading 8-bit raster files (PNG, TIFF, GIF) into RGBA with maintained pure-JS decoders — pngjs,
// utif2 (TIFF, including the LZW compression DRIVE uses), omggif — and the two conversions the fundus
// pipeline needs: one intensity channel in [0, 1] and a binary mask.
import { readFileSync } from 'node:fs';
import { GifReader } from 'omggif';
import { PNG } from 'pngjs';
import UTIF from 'utif2';
import { DataError } from './dataset.js';

/** A decoded image: 4 interleaved 8-bit channels (RGBA), row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

type Format = 'png' | 'tiff' | 'gif';

/** The format from the file's first bytes (extensions lie: FIVES and DRIVE both have odd ones). */
function sniffFormat(bytes: Uint8Array): Format | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'png';
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'gif';
  return null;
}

/** Decodes the first image of a PNG, TIFF or GIF file (a multi-page TIFF or animated GIF: page 0). */
export function decodeImageBytes(bytes: Uint8Array, file = '<bytes>'): RgbaImage {
  const format = sniffFormat(bytes);
  if (!format) throw new DataError(file, 'not a PNG, TIFF or GIF file', 'Convert the image to PNG');
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (format === 'tiff') {
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const [page] = UTIF.decode(buffer);
      UTIF.decodeImage(buffer, page);
      return { width: page.width, height: page.height, rgba: UTIF.toRGBA8(page) };
    }
    const gif = new GifReader(bytes);
    const rgba = new Uint8Array(gif.width * gif.height * 4);
    gif.decodeAndBlitFrameRGBA(0, rgba);
    return { width: gif.width, height: gif.height, rgba };
  } catch (e) {
    throw new DataError(file, `unreadable ${format.toUpperCase()} (${(e as Error).message})`, 'Check that the file is complete');
  }
}

export function readImageFile(file: string): RgbaImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new DataError(file, 'image file not found', 'Check the dataset folder layout');
  }
  return decodeImageBytes(bytes, file);
}

/**
 * Which intensity the network sees: 'green' is the vessel literature's usual input (vessels have the
 * most contrast there), 'gray' the ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B (PIL's convert('L')).
 */
export type InputChannel = 'green' | 'gray';

/** One channel scaled to [0, 1]. */
export function intensity(img: RgbaImage, channel: InputChannel): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const p = img.rgba;
  for (let i = 0; i < n; i++) {
    out[i] = channel === 'green' ? p[4 * i + 1] / 255 : (0.299 * p[4 * i] + 0.587 * p[4 * i + 1] + 0.114 * p[4 * i + 2]) / 255;
  }
  return out;
}

/** Binary mask: 1 where the red channel (= gray value of a gray/palette image) is above 127. */
export function binaryMask(img: RgbaImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = +(img.rgba[4 * i] > 127);
  return out;
}

/** Format, size and completeness of an image file, from its header and its last bytes (no pixel decoding). */
export interface ImageHeader {
  format: Format;
  width: number;
  height: number;
}

/**
 * Reads only what locates the pixels: PNG's IHDR and its closing IEND chunk, GIF's screen size and
 * trailer byte, TIFF's first directory and that its strips (or tiles) lie inside the file. Finds a
 * missing, foreign or truncated file without decoding it (cheap enough for 800 FIVES photographs).
 */
export function inspectImageBytes(bytes: Uint8Array, file = '<bytes>'): ImageHeader {
  const format = sniffFormat(bytes);
  if (!format) throw new DataError(file, 'not a PNG, TIFF or GIF file', 'Convert the image to PNG');
  const truncated = () => new DataError(file, `truncated ${format.toUpperCase()} (${bytes.length} bytes)`, 'Replace it with the complete file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    if (bytes.length < 45) throw truncated();
    const iend = String.fromCharCode(...bytes.subarray(bytes.length - 8, bytes.length - 4));
    if (iend !== 'IEND') throw truncated();
    return { format, width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (format === 'gif') {
    if (bytes.length < 14 || bytes[bytes.length - 1] !== 0x3b) throw truncated();
    return { format, width: view.getUint16(6, true), height: view.getUint16(8, true) };
  }
  // TIFF: the first directory's offset follows the byte-order mark; DRIVE's files keep it at the end.
  if (bytes.length < 8 || view.getUint32(4, bytes[0] === 0x49) + 2 > bytes.length) throw truncated();
  let page: Record<string, number[] | undefined>;
  try {
    [page] = UTIF.decode(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer) as unknown as Record<string, number[] | undefined>[];
  } catch (e) {
    throw new DataError(file, `unreadable TIFF (${(e as Error).message})`, 'Check that the file is complete');
  }
  const width = page?.t256?.[0];
  const height = page?.t257?.[0];
  if (!width || !height) throw new DataError(file, 'TIFF without image size tags', 'Convert the image to PNG');
  // Strips (273 offsets, 279 byte counts) or tiles (324, 325).
  const offsets = page.t273 ?? page.t324 ?? [];
  const counts = page.t279 ?? page.t325 ?? [];
  for (let i = 0; i < offsets.length; i++) if (offsets[i] + (counts[i] ?? 0) > bytes.length) throw truncated();
  return { format, width, height };
}

/** inspectImageBytes on a file; a missing file is a DataError like readImageFile's. */
export function inspectImageFile(file: string): ImageHeader {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new DataError(file, 'image file not found', 'Check the dataset folder layout');
  }
  return inspectImageBytes(bytes, file);
}
