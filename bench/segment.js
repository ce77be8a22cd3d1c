#!/usr/bin/env node
// Segment your own files (NIfTI, HDF5, PNG/TIFF or a folder of them) with a trained UNet.
// The command lives in src/cli/commands/segment.ts (built to dist/cli/segment.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/segment.js`, import.meta.url).href);
