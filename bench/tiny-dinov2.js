#!/usr/bin/env node
// Write a small random DINOv2 (hub parameter names, safetensors) that `--dinov2` loads, for SA runs
// where no released checkpoint is available offline. Its LayerScale γ are set to 1 instead of
// DINOv2's initial 1e−5: with 1e−5 the blocks barely touch the CLS token and every image gets almost
// the same embedding (released checkpoints have trained γ of order 0.1–1). Random weights make no
// claim about features; they let the SA term's mechanics (what falls, what moves) be measured.
// Usage: node bench/tiny-dinov2.js --out runs/tiny-dinov2.safetensors [--width 64] [--depth 2] [--seed 5]
import * as E from '../dist/index.js';
import { parseArgsOrExit } from '../dist/cli/index.js';

const args = parseArgsOrExit(process.argv.slice(2), {
  out: { type: 'string', required: true, help: 'output .safetensors file' },
  width: { type: 'number', integer: true, min: 64, multipleOf: 64, default: 64, help: 'embedding width (a multiple of 64: the loader infers width / 64 heads)' },
  depth: { type: 'number', default: 2, help: 'transformer blocks' },
  seed: { type: 'number', default: 5, help: 'weight seed' },
}, 'usage: node bench/tiny-dinov2.js --out FILE [--width 64] [--depth 2] [--seed 5]');
await E.init();
const vit = new E.Dinov2(
  { embedDim: args.width, depth: args.depth, numHeads: args.width / 64, patchSize: 14, pretrainGrid: 4, numRegisters: 0, ffn: 'mlp', ffnHidden: 4 * args.width, interpolateOffset: 0.1, inChannels: 3 },
  args.seed,
);
const ones = new Map(vit.namedParameters().filter(([k]) => k.endsWith('.gamma')).map(([k, p]) => [k, E.tensor(new Float32Array(p.size).fill(1), p.shape)]));
vit.loadStateDict(ones, { strict: false });
await E.saveModule(args.out, vit, { note: 'random DINOv2 weights (LayerScale gamma = 1): for measuring SA mechanics, not features' });
console.log(`wrote ${args.out}: random DINOv2, width ${args.width}, depth ${args.depth}, ${vit.parameters().reduce((s, p) => s + p.size, 0).toLocaleString('en')} parameters`);
await E.shutdown();
