// A 5×7 bitmap font for labels on reports: digits, upper-case letters (lower case is drawn as upper
// case) and the punctuation numbers and labels need. Each glyph is 7 rows, top first, as 5-bit
// numbers whose bit 4 is the leftmost pixel, written as 14 hex digits.

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character at scale 1 (one empty column between glyphs). */
export const GLYPH_ADVANCE = 6;

const GLYPHS: Record<string, string> = {
  '0': '0e11131519110e', '1': '040c040404040e', '2': '0e11010204081f', '3': '1f02040201110e',
  '4': '02060a121f0202', '5': '1f101e0101110e', '6': '0608101e11110e', '7': '1f010204080808',
  '8': '0e11110e11110e', '9': '0e11110f01020c',
  A: '0e11111f111111', B: '1e11111e11111e', C: '0e11101010110e', D: '1c12111111121c',
  E: '1f10101e10101f', F: '1f10101e101010', G: '0e11101711110f', H: '1111111f111111',
  I: '0e04040404040e', J: '0702020202120c', K: '11121418141211', L: '1010101010101f',
  M: '111b1515111111', N: '11111915131111', O: '0e11111111110e', P: '1e11111e101010',
  Q: '0e11111115120d', R: '1e11111e141211', S: '0f10100e01011e', T: '1f040404040404',
  U: '1111111111110e', V: '11111111110a04', W: '1111111515150a', X: '11110a040a1111',
  Y: '1111110a040404', Z: '1f01020408101f',
  ' ': '00000000000000', '.': '00000000000c0c', ',': '000000000c0408', ':': '000c0c000c0c00',
  '%': '18190204081303', '-': '0000001f000000', '+': '0004041f040400', '/': '00010204081000',
  '(': '02040808080402', ')': '08040202020408', '=': '00001f001f0000', '_': '0000000000001f',
};
// Drawn for characters the font lacks, so a missing glyph is visible rather than silently dropped.
const UNKNOWN = '1f11111111111f';

function rows(ch: string): number[] {
  const hex = (GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? UNKNOWN);
  return Array.from({ length: GLYPH_HEIGHT }, (_, r) => parseInt(hex.slice(2 * r, 2 * r + 2), 16));
}

export function textWidth(text: string, scale = 1): number {
  return text.length ? (text.length * GLYPH_ADVANCE - 1) * scale : 0;
}

export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/**
 * Calls plot(x, y) for every lit pixel of `text` with its top-left corner at (x, y). Vertical text
 * reads bottom to top (for y-axis labels): (x, y) is then the top-left of its bounding box.
 */
export function rasterizeText(text: string, x: number, y: number, scale: number, vertical: boolean, plot: (px: number, py: number) => void): void {
  const length = textWidth(text, scale);
  for (let i = 0; i < text.length; i++) {
    const glyph = rows(text[i]);
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (!((glyph[r] >> (GLYPH_WIDTH - 1 - c)) & 1)) continue;
        const u = (i * GLYPH_ADVANCE + c) * scale; // along the text
        const v = r * scale; // across the text
        for (let a = 0; a < scale; a++) {
          for (let b = 0; b < scale; b++) {
            if (vertical) plot(x + v + b, y + length - 1 - (u + a));
            else plot(x + u + a, y + v + b);
          }
        }
      }
    }
  }
}
