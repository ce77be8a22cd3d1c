#!/usr/bin/env node
// Write synthetic slices from a trained StyleGAN2 generator.
// The command lives in src/cli/commands/generate.ts (built to dist/cli/generate.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/generate.js`, import.meta.url).href);
