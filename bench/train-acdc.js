#!/usr/bin/env node
// Train the UNet on ACDC (or the embedded phantom) with supervised, BCP or SRA-Seg training.
// The command lives in src/cli/commands/train-acdc.ts (built to dist/cli/train-acdc.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/train-acdc.js`, import.meta.url).href);
