#!/usr/bin/env node
// The paper's Fig. 1: labeled vs unlabeled feature densities of a trained UNet.
// The command lives in src/cli/commands/domain-gap.ts (built to dist/cli/domain-gap.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/domain-gap.js`, import.meta.url).href);
