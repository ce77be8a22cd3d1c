// What a weights file holds, recognised from its tensor names (after io/state-dict.ts has read and
// unwrapped it), so that a checkpoint of the wrong model is named as such in one line
// ("runs/x/G_ema.safetensors holds a StyleGAN2 generator, not a UNet") instead of a list of hundreds
// of missing and unexpected keys. Every loader of user-given weights asks here: the UNet's
// (unet-weights.ts), DINOv2's (vit-weights.ts) and the generator's (gan/checkpoint.ts).

export type WeightsKind = 'unet' | 'stylegan2-checkpoint' | 'stylegan2-networks' | 'stylegan2-generator' | 'stylegan2-discriminator' | 'dinov2';

interface KindRule {
  kind: WeightsKind;
  /** As it reads in a sentence: "holds a UNet". */
  name: string;
  /** A key every file of this kind has, to show what was expected. */
  example: string;
  test(keys: readonly string[], has: (k: string) => boolean): boolean;
}

const startsWith = (keys: readonly string[], prefix: string) => keys.some((k) => k.startsWith(prefix));

// Most specific first: a training checkpoint holds a generator under 'G_ema.', a pair of networks
// (as the golden fixtures are saved) under 'G.'.
const RULES: readonly KindRule[] = [
  {
    kind: 'stylegan2-checkpoint',
    name: 'a StyleGAN2 training checkpoint (G, D, G_ema and both optimisers)',
    example: 'G_ema.synthesis.b4.const',
    test: (keys) => startsWith(keys, 'G_ema.') && startsWith(keys, 'D.'),
  },
  {
    kind: 'stylegan2-networks',
    name: 'StyleGAN2 networks (a generator G and a discriminator D)',
    example: 'G.synthesis.b4.const',
    test: (keys) => startsWith(keys, 'G.synthesis.') && startsWith(keys, 'D.'),
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
