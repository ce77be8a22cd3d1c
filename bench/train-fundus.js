#!/usr/bin/env node
// Train the vessel UNet on DRIVE or FIVES with supervised, BCP or SRA-Seg training.
// The command lives in src/cli/commands/train-fundus.ts (built to dist/cli/train-fundus.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/train-fundus.js`, import.meta.url).href);
