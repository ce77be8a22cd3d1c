#!/usr/bin/env node
// Evaluate a vessel UNet checkpoint on fundus images inside the field of view.
// The command lives in src/cli/commands/eval-fundus.ts (built to dist/cli/eval-fundus.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/eval-fundus.js`, import.meta.url).href);
