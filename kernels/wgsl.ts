// Shader assembly: a kernel's WGSL is the declarations generated from TypeScript, the shared prelude
// (shaders/prelude.wgsl: grid index, Vec8 access, strided offsets) and the kernel's own section of a
// shaders/*.wgsl file, whose few named `{{SLOTS}}` are filled last. Everything the two languages
// share flows from TypeScript into WGSL, once: the uniform struct (kernels/uniforms.ts), the
// workgroup size `WG` (the same number the launch's grid is computed with), constants (tiles, clamp
// bounds, flags) and element types. SRASEG_PRINT_WGSL=<key substring> prints the result
// (src/engine/gpu/pipelines.ts); `node scripts/print-wgsl.mjs <key substring>` runs every kernel
// family once to print theirs.
import prelude from '../shaders/prelude.wgsl';
import type { UniformFields, Uniforms } from './uniforms.js';

/** A generated WGSL constant: `const NAME: type = value;`. */
export type WgslConst = readonly ['u32' | 'i32' | 'f32', number] | readonly ['bool', boolean];

export interface ShaderParts {
  /** Workgroup size: `const WG: u32`, used as `@workgroup_size(WG)` and by `globalIndex`. */
  wg: number;
  /** Compile-time constants, generated as WGSL `const` declarations. */
  consts?: Record<string, WgslConst>;
  /** Type aliases (element types of bindings): `alias NAME = type;`. */
  types?: Record<string, string>;
  /** WGSL extensions the kernel uses (`enable f16;`); the device must have asked for their features. */
  enable?: readonly 'f16'[];
  /** Text for the named `{{NAME}}` slots of the body: expressions and generated unrolled blocks. */
  slots?: Record<string, string | number>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A WGSL literal for `value` of `type` that reads back exactly (f32: the double, rounded once to f32). */
export function wgslLiteral([type, value]: WgslConst): string {
  if (type === 'bool') return String(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`WGSL constant: ${value} is not a finite number`);
  if (type === 'f32') {
    const s = String(value);
    return /[.e]/.test(s) ? s : `${s}.0`;
  }
  if (!Number.isInteger(value)) throw new Error(`WGSL constant: ${value} is not an integer (${type})`);
  if (type === 'u32') {
    if (value < 0 || value >= 2 ** 32) throw new Error(`WGSL constant: ${value} is outside u32`);
    return `${value}u`;
  }
  if (value < -(2 ** 31) || value >= 2 ** 31) throw new Error(`WGSL constant: ${value} is outside i32`);
  return `${value}i`;
}

/** The declarations generated from TypeScript: uniform struct and binding, WG, constants, types. */
export function declarations<F extends UniformFields>(params: Uniforms<F>, parts: ShaderParts): string {
  if (!Number.isInteger(parts.wg) || parts.wg < 1) throw new Error(`shader: workgroup size ${parts.wg} is not a positive integer`);
  const lines = [params.wgsl, `@group(0) @binding(0) var<uniform> P: ${params.name};`, '', `const WG: u32 = ${parts.wg}u;`];
  for (const [name, c] of Object.entries(parts.consts ?? {})) {
    if (!IDENT.test(name)) throw new Error(`shader: constant '${name}' is not a WGSL identifier`);
    lines.push(`const ${name}: ${c[0]} = ${wgslLiteral(c)};`);
  }
  for (const [name, type] of Object.entries(parts.types ?? {})) {
    if (!IDENT.test(name)) throw new Error(`shader: type alias '${name}' is not a WGSL identifier`);
    lines.push(`alias ${name} = ${type};`);
  }
  return lines.join('\n');
}

/** Fill the body's `{{NAME}}` slots; a slot without a value, or a value without a slot, is an error. */
export function fillSlots(body: string, slots: Record<string, string | number>): string {
  const used = new Set<string>();
  const out = body.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in slots)) throw new Error(`shader: no value for the slot {{${k}}}`);
    used.add(k);
    return String(slots[k]);
  });
  const unused = Object.keys(slots).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`shader: no slot for ${unused.map((k) => `{{${k}}}`).join(', ')}`);
  return out;
}

/** The whole WGSL of one kernel: generated declarations, the prelude, then `body` with its slots filled. */
export function assemble<F extends UniformFields>(body: string, params: Uniforms<F>, parts: ShaderParts): string {
  return [
    // Directives precede every declaration.
    ...(parts.enable ?? []).map((e) => `enable ${e};`),
    '// ---- generated from TypeScript (kernels/wgsl.ts) ----',
    declarations(params, parts),
    '',
    '// ---- shaders/prelude.wgsl ----',
    prelude.trim(),
    '',
    '// ---- kernel ----',
    fillSlots(body, parts.slots ?? {}).trim(),
    '',
  ].join('\n');
}
