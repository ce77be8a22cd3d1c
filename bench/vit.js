#!/usr/bin/env node
// DINOv2 ViT forward at 224² (batch 12 by default) and attention alone, fused (kernels/attention.ts)
// vs the unfused composition matmul → softmax → matmul: median ms and GFLOP/s on the current adapter.
// PyTorch on the same machine: /usr/bin/python3 bench/pytorch_vit.py.
// Usage: node bench/vit.js [--batch 12] [--models vits14,vitb14] [--no-models] [--no-attention]
import { timeMedian } from './harness.js';

const E = await import(`../${process.env.DIST ?? 'dist'}/index.js`);
const { parseArgsOrExit } = await import(`../${process.env.DIST ?? 'dist'}/cli/index.js`);
const args = parseArgsOrExit(process.argv.slice(2), {
  batch: { type: 'number', default: 12, help: 'images per forward' },
  size: { type: 'number', default: 224, help: 'image side (a multiple of 14)' },
  models: { type: 'string', default: 'vits14,vitb14', help: 'comma-separated DINOV2_CONFIGS names' },
  'no-models': { type: 'boolean', default: false, help: 'skip the whole-model forwards' },
  'no-attention': { type: 'boolean', default: false, help: 'skip attention alone' },
}, 'usage: node bench/vit.js [options]');

const rt = await E.init();
console.log(`adapter: ${rt.ctx.description} (backend ${rt.ctx.backend})`);
const B = args.batch;
const tokens = (args.size / 14) ** 2 + 1;
const rows = [];
const report = (name, ms, flops) => {
  rows.push({ name, ms, gflops: flops / ms / 1e6 });
  console.log(`${name.padEnd(48)} ${ms.toFixed(1).padStart(9)} ms ${(flops / ms / 1e6).toFixed(2).padStart(8)} GFLOP/s`);
};

const unfused = (q, k, v) => E.matmul(E.softmax(E.mul(E.matmul(q, k, { transB: true }), 1 / Math.sqrt(q.shape[3])), -1), v);

if (!args['no-attention']) {
  for (const heads of [6, 12]) {
    const shape = [B, heads, tokens, 64];
    const [q, k, v, g] = [1, 2, 3, 4].map(() => E.keep(E.randn(shape)));
    // Forward: QKᵀ and PV, 2·N²·Dh multiply-adds each per head.
    const flops = 4 * B * heads * tokens * tokens * 64;
    for (const [label, f] of [['fused', E.attention], ['unfused', unfused]]) {
      const fwd = await timeMedian(() => E.noGrad(() => E.tidy(() => { f(q, k, v); })), () => E.sync(), { minRuns: 3, minMs: 500 });
      report(`attention ${label} forward [${shape}]`, fwd, flops);
      for (const t of [q, k, v]) t.requiresGrad = true;
      // Forward + backward counted as the nominal 3× the forward (2 products forward, 4 backward).
      const both = await timeMedian(() => E.tidy(() => {
        E.backward(f(q, k, v), { grad: g });
        for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; }
      }), () => E.sync(), { minRuns: 3, minMs: 500 });
      report(`attention ${label} forward+backward [${shape}]`, both, 3 * flops);
      for (const t of [q, k, v]) t.requiresGrad = false;
    }
    for (const t of [q, k, v, g]) t.dispose();
  }
}

if (!args['no-models']) {
  for (const name of String(args.models).split(',')) {
    const config = E.DINOV2_CONFIGS[name];
    if (!config) throw new Error(`unknown model ${name}; one of ${Object.keys(E.DINOV2_CONFIGS).join(', ')}`);
    const model = new E.Dinov2(config).eval().freeze();
    const x = E.keep(E.randn([B, 3, args.size, args.size]));
    const D = config.embedDim;
    const patches = tokens - 1;
    // Per block: qkv, proj and the MLP (12·D² per token, ×2 for multiply-add) plus attention.
    const block = 24 * B * tokens * D * D + 4 * B * tokens * tokens * D;
    const flops = config.depth * block + 2 * B * patches * D * 3 * 14 * 14;
    const ms = await timeMedian(() => E.noGrad(() => E.tidy(() => { model.forward(x); })), () => E.sync(), { warmup: 1, minRuns: 3, minMs: 0, maxRuns: 3 });
    report(`DINOv2 ${name} forward [${B},3,${args.size},${args.size}]`, ms, flops);
    x.dispose();
    model.dispose();
  }
}
await E.shutdown();
process.exit(0);
