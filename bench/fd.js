#!/usr/bin/env node
// FD and KID between real and synthetic slices (DINOv2 or a UNet encoder).
// The command lives in src/cli/commands/fd.ts (built to dist/cli/fd.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/fd.js`, import.meta.url).href);
