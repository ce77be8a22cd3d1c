// Types for bench/roofline-costs.js (imported by test/roofline.test.ts).
import type { DispatchRecord } from '../src/index.js';
export function flopsOf(d: DispatchRecord): number;
export function bytesOf(d: DispatchRecord): number;
