#!/usr/bin/env node
// Train a StyleGAN2-ADA generator on the labeled slices of an ACDC split.
// The command lives in src/cli/commands/train-stylegan.ts (built to dist/cli/train-stylegan.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/train-stylegan.js`, import.meta.url).href);
