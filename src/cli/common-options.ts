// Option constraints several commands share, declared once with the reason for each. A command
// spreads one and adds its help and default: `size: { ...UNET_SIZE, default: 256, help: '…' }`.
import { VAL_SPLITS, type LabeledSplit } from '../index.js';

/** The UNet pools four times (16 → 1), so its input side must be a multiple of 16. */
export const UNET_SIZE = { type: 'number', integer: true, min: 16, multipleOf: 16, why: 'the UNet halves the image 4 times', metavar: 'px' } as const;

/** Seeds are used as 32-bit words (`seed >>> 0`): larger values would silently alias smaller ones. */
export const SEED = { type: 'number', integer: true, min: 0, max: 2 ** 32 - 1 } as const;

/** A count of things that must exist at least once (iterations, images, batch size). */
export const POSITIVE_INT = { type: 'number', integer: true, min: 1, metavar: 'n' } as const;
export const NON_NEGATIVE_INT = { type: 'number', integer: true, min: 0, metavar: 'n' } as const;
export const POSITIVE = { type: 'number', above: 0 } as const;
export const NON_NEGATIVE = { type: 'number', min: 0 } as const;
export const PROBABILITY = { type: 'number', min: 0, max: 1 } as const;

/** Fundus network inputs (green channel or luma) and validation sources, shared by train-fundus and eval-fundus. */
export const FUNDUS_CHANNELS = ['green', 'gray'] as const;
export const FUNDUS_EVALUATE_ON = ['validation', 'test'] as const;

/** Which validation volumes: all, or one half by patient (src/data/val-split.ts) — the selection half that
 * chooses a checkpoint or the report half that scores it. Each command adds its own help. */
export const VAL_SPLIT = { type: 'string', default: 'all', choices: VAL_SPLITS } as const;

/** '7' (patients) or '136s' (slices) — the labeled split of ACDC's train_slices.list. */
export const LABELED_SPLIT = {
  type: 'string',
  metavar: 'N|Ns',
  check: (v: string) => (/^\d+s?$/.test(v) ? null : "expected patients (3, 7) or slices with an 's' (136s)"),
} as const;

export function parseLabeledSplit(value: string): LabeledSplit {
  return value.endsWith('s') ? { slices: Number(value.slice(0, -1)) } : { patients: Number(value) };
}

/** A timestamped default run folder: runs/<kind>-2026-12-01T20-20-01. */
export function defaultRunFolder(kind: string): string {
  return `runs/${kind}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
}
