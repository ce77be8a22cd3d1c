// What a weights file holds, recognised from its tensor names, so that a checkpoint of the wrong
// model is named as such in one line ("runs/x/G_ema.safetensors holds a StyleGAN2 generator, not a
// UNet") instead of a list of hundreds of missing and unexpected keys; and the UNet checkpoint
// helpers every command uses: read on the CPU before any work starts (class count, right model),
// then load with a mismatch explained.
import { type HostTensor, loadModule, loadSafetensors, StateDictMismatch } from '../engine/index.js';
import { UserError } from '../errors.js';
import type { UNet } from './unet.js';

export type WeightsKind = 'unet' | 'stylegan2-checkpoint' | 'stylegan2-generator' | 'stylegan2-discriminator' | 'dinov2';

interface KindRule {
  kind: WeightsKind;
  /** As it reads in a sentence: "holds a UNet". */
  name: string;
  /** A key every file of this kind has, to show what was expected. */
  example: string;
  test(keys: readonly string[], has: (k: string) => boolean): boolean;
}

const startsWith = (keys: readonly string[], prefix: string) => keys.some((k) => k.startsWith(prefix));

// Most specific first: a training checkpoint holds a generator under 'G_ema.'.
const RULES: readonly KindRule[] = [
  {
    kind: 'stylegan2-checkpoint',
    name: 'a StyleGAN2 training checkpoint (G, D, G_ema and both optimisers)',
    example: 'G_ema.synthesis.b4.const',
    test: (keys) => startsWith(keys, 'G_ema.') && startsWith(keys, 'D.'),
  },
  {
    kind: 'stylegan2-generator',
    name: 'a StyleGAN2 generator',
    example: 'synthesis.b4.const',
    test: (keys) => startsWith(keys, 'synthesis.') && startsWith(keys, 'mapping.'),
  },
  { kind: 'stylegan2-discriminator', name: 'a StyleGAN2 discriminator', example: 'b4.out.weight', test: (_, has) => has('b4.out.weight') },
  { kind: 'unet', name: 'a UNet', example: 'encoder.in_conv.conv_conv.0.weight', test: (_, has) => has('encoder.in_conv.conv_conv.0.weight') || has('decoder.out_conv.weight') },
  {
    kind: 'dinov2',
    name: 'DINOv2 (ViT) weights',
    example: 'blocks.0.attn.qkv.weight',
    test: (keys, has) => (has('cls_token') && startsWith(keys, 'blocks.')) || has('embeddings.cls_token') || startsWith(keys, 'encoder.layer.'),
  },
];

/** The kind of model a state dict's names belong to, with a phrase for messages; kind null when unknown. */
export function identifyWeights(names: Iterable<string>): { kind: WeightsKind | null; name: string } {
  const keys = [...names];
  const set = new Set(keys);
  const rule = RULES.find((r) => r.test(keys, (k) => set.has(k)));
  if (rule) return { kind: rule.kind, name: rule.name };
  if (!keys.length) return { kind: null, name: 'no tensors at all' };
  return { kind: null, name: `weights of an unknown model (keys like ${keys.slice(0, 3).join(', ')})` };
}

function rule(kind: WeightsKind): KindRule {
  return RULES.find((r) => r.kind === kind)!;
}

/** "<path> holds a StyleGAN2 generator, not a UNet (expected keys like …)", or null when it is that kind. */
export function wrongModelMessage(path: string, names: Iterable<string>, expected: WeightsKind): string | null {
  const found = identifyWeights(names);
  if (found.kind === expected) return null;
  const want = rule(expected);
  return `${path} holds ${found.name}, not ${want.name.replace(/ \(.*\)$/, '')} (expected keys like ${want.example})`;
}

/** A UNet checkpoint read on the CPU: its class count, checked to be a UNet. */
export interface UNetCheckpoint {
  path: string;
  numClasses: number;
  tensors: Map<string, HostTensor>;
}

/**
 * Reads a UNet checkpoint without the GPU (cheap: a few MB), so a missing, damaged or wrong file is
 * reported before anything starts. Throws a one-line InputError/UserError naming the file.
 */
export function readUNetCheckpoint(path: string): UNetCheckpoint {
  const { tensors } = loadSafetensors(path);
  const wrong = wrongModelMessage(path, tensors.keys(), 'unet');
  if (wrong) throw new UserError(wrong);
  const out = tensors.get('decoder.out_conv.weight');
  if (!out) throw new UserError(`${path}: a UNet checkpoint without its output layer (decoder.out_conv.weight): the file is incomplete; use another checkpoint`);
  return { path, numClasses: out.shape[0], tensors };
}

/** Checks a UNet checkpoint's class count against what the data needs, before anything starts. */
export function checkUNetClasses(ckpt: UNetCheckpoint, numClasses: number, what: string): void {
  if (ckpt.numClasses !== numClasses) {
    throw new UserError(`${ckpt.path} is a UNet with ${ckpt.numClasses} classes, ${what} needs ${numClasses}: use a checkpoint trained on this data`);
  }
}

/** Loads UNet weights into `model`; a file of another model or configuration is one line saying which. */
export function loadUNetWeights(path: string, model: UNet): void {
  try {
    loadModule(path, model);
  } catch (e) {
    if (!(e instanceof StateDictMismatch)) throw e;
    const names = [...e.unexpectedKeys, ...model.stateDict().keys()].filter((k) => !e.missingKeys.includes(k));
    const wrong = wrongModelMessage(path, names, 'unet');
    if (wrong) throw new UserError(wrong);
    const first = e.mismatched[0];
    const detail = first ? `${first.key} is ${first.got}, this UNet has ${first.expected}` : StateDictMismatch.summary('UNet', e.missingKeys, e.unexpectedKeys, []);
    throw new UserError(`${path}: a UNet of another configuration (${detail}); use a checkpoint of the same network settings`);
  }
}
