#!/usr/bin/env node
// The ACDC challenge's NIfTI files → the HDF5 layout and standard split the trainers read (--data).
// The command lives in src/cli/commands/prepare-acdc.ts (built to dist/cli/prepare-acdc.js); --help lists its options.
await import(new URL(`../${process.env.DIST ?? 'dist'}/cli/prepare-acdc.js`, import.meta.url).href);
