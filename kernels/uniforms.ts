// Declared uniforms: a kernel names its uniform fields and their types once, and both sides of the
// TypeScript ↔ WGSL contract come from that one declaration — the WGSL `struct` (put into the
// shader by kernels/wgsl.ts) and the packer that writes the values at the struct's byte offsets.
// The packer's argument is typed from the declaration, so a missing or misspelt field is a compile
// error, and WGSL's alignment rules for the uniform address space are applied here, in one place.
//
//   const params = uniforms('Params', { n: 'u32', alpha: 'f32', shape: 'vec8' });
//   params.wgsl                              // struct Params { n: u32, alpha: f32, shape: Vec8 }
//   params.pack({ n: 10, alpha: 0.5, shape: [2, 5] })

/**
 * Field types: 32-bit scalars; `vec8` is a rank-≤8 shape or stride vector (WGSL `Vec8`, i.e.
 * `array<vec4<u32>, 2>`; entries past the values given are 0); `vec4f` is a `vec4<f32>`.
 */
export type UniformType = 'u32' | 'i32' | 'f32' | 'vec8' | 'vec4f';

export type UniformFields = Record<string, UniformType>;

/** The TypeScript value a field of type T takes. */
export type UniformValue<T extends UniformType> = T extends 'vec8' ? readonly number[] : T extends 'vec4f' ? readonly [number, number, number, number] : number;

/** The values of every field, keyed by name: exactly the declared fields. */
export type UniformValues<F extends UniformFields> = { [K in keyof F]: UniformValue<F[K]> };

export const MAX_RANK = 8;

/** WGSL's size and alignment in the uniform address space, in bytes. */
const SIZE: Record<UniformType, number> = { u32: 4, i32: 4, f32: 4, vec8: 32, vec4f: 16 };
const ALIGN: Record<UniformType, number> = { u32: 4, i32: 4, f32: 4, vec8: 16, vec4f: 16 };
const WGSL_TYPE: Record<UniformType, string> = { u32: 'u32', i32: 'i32', f32: 'f32', vec8: 'Vec8', vec4f: 'vec4<f32>' };

export interface FieldLayout {
  name: string;
  type: UniformType;
  /** Byte offset in the struct. */
  offset: number;
}

export interface Uniforms<F extends UniformFields> {
  /** The WGSL struct's name (the shader reads it as the variable `P`). */
  readonly name: string;
  readonly fields: F;
  readonly layout: readonly FieldLayout[];
  /** Bytes the packer writes: the struct's size rounded up to 16. */
  readonly size: number;
  /** The WGSL struct declaration. */
  readonly wgsl: string;
  /** The values as the bytes of the struct. */
  pack(values: UniformValues<F>): ArrayBuffer;
}

const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Declare a uniform block: the WGSL struct and its packer, from one list of fields (in struct order). */
export function uniforms<const F extends UniformFields>(name: string, fields: F): Uniforms<F> {
  if (!IDENT.test(name)) throw new Error(`uniforms: '${name}' is not a WGSL identifier`);
  const layout: FieldLayout[] = [];
  let end = 0;
  for (const [field, type] of Object.entries(fields)) {
    if (!IDENT.test(field)) throw new Error(`uniforms ${name}: '${field}' is not a WGSL identifier`);
    if (!(type in SIZE)) throw new Error(`uniforms ${name}.${field}: unknown type '${type}'`);
    const offset = alignUp(end, ALIGN[type]);
    layout.push({ name: field, type, offset });
    end = offset + SIZE[type];
  }
  if (!layout.length) throw new Error(`uniforms ${name}: no fields (WGSL structs need at least one member)`);
  const size = alignUp(end, 16);
  const width = Math.max(...layout.map((f) => f.name.length + WGSL_TYPE[f.type].length));
  const members = layout.map((f) => `  ${`${f.name}: ${WGSL_TYPE[f.type]},`.padEnd(width + 3)} // byte ${f.offset}`);
  const wgsl = `struct ${name} {\n${members.join('\n')}\n}`;

  const pack = (values: UniformValues<F>): ArrayBuffer => {
    const buf = new ArrayBuffer(size);
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    const given = values as Record<string, unknown>;
    for (const key of Object.keys(given)) {
      if (!(key in fields)) throw new Error(`uniforms ${name}: no field '${key}' (fields: ${Object.keys(fields).join(', ')})`);
    }
    for (const { name: field, type, offset } of layout) {
      const v = given[field];
      const at = offset / 4;
      const where = `uniforms ${name}.${field}`;
      if (type === 'vec8' || type === 'vec4f') {
        const n = type === 'vec8' ? MAX_RANK : 4;
        if (!Array.isArray(v) || v.length > n || (type === 'vec4f' && v.length !== 4)) {
          throw new Error(`${where}: expected ${type === 'vec8' ? `up to ${n}` : n} numbers, got ${JSON.stringify(v)}`);
        }
        for (let k = 0; k < v.length; k++) {
          if (type === 'vec8') u[at + k] = integer(where, v[k]) >>> 0;
          else f[at + k] = v[k];
        }
      } else if (typeof v !== 'number') {
        throw new Error(`${where}: expected a number, got ${JSON.stringify(v)}`);
      } else if (type === 'f32') f[at] = v;
      else if (type === 'i32') i[at] = integer(where, v) | 0;
      else u[at] = integer(where, v) >>> 0;
    }
    return buf;
  };
  return { name, fields, layout, size, wgsl, pack };
}

/** An integer that fits 32 bits as i32 or u32 (negative values wrap modulo 2³² in u32 fields). */
function integer(where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 32) {
    throw new Error(`${where}: ${v} is not a 32-bit integer`);
  }
  return v;
}
