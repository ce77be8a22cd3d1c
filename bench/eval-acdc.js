#!/usr/bin/env node
// Evaluate a UNet checkpoint on ACDC volumes with BCP's protocol.
// The command lives in src/cli/commands/eval-acdc.ts (built to dist/cli/eval-acdc.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/eval-acdc.js`, import.meta.url).href);
