// DINOv2 weights from the two files users have: the torch-hub checkpoint (`dinov2_vitb14_pretrain.pth`,
// hub names: blocks.N.attn.qkv.weight, blocks.N.ls1.gamma, pos_embed, ...) and the Hugging Face
// `model.safetensors` (facebook/dinov2-base names: encoder.layer.N.attention.attention.query.weight,
// layer_scale1.lambda1, embeddings.position_embeddings, ...). Both map onto the hub names of
// src/models/vit.ts; the configuration is inferred from the tensors' shapes. The file is read by
// io/state-dict.ts, which every weights file goes through.
import { existsSync } from 'node:fs';
import { type HostTensor, loadModuleFromHost } from '../engine/index.js';
import { UserError } from '../errors.js';
import { readStateDict } from '../io/state-dict.js';
import { wrongModelMessage } from './weights.js';
import { Dinov2, type Dinov2Config } from './vit.js';

type HostState = Map<string, HostTensor>;

/** Hugging Face → hub names for everything but q/k/v (which concatenate into qkv). */
const HF_RENAMES: [RegExp, string][] = [
  [/^embeddings\.cls_token$/, 'cls_token'],
  [/^embeddings\.mask_token$/, 'mask_token'],
  [/^embeddings\.register_tokens$/, 'register_tokens'],
  [/^embeddings\.position_embeddings$/, 'pos_embed'],
  [/^embeddings\.patch_embeddings\.projection\./, 'patch_embed.proj.'],
  [/^layernorm\./, 'norm.'],
  [/^encoder\.layer\.(\d+)\.attention\.output\.dense\./, 'blocks.$1.attn.proj.'],
  [/^encoder\.layer\.(\d+)\.layer_scale(\d)\.lambda1$/, 'blocks.$1.ls$2.gamma'],
  [/^encoder\.layer\.(\d+)\.mlp\.weights_in\./, 'blocks.$1.mlp.w12.'],
  [/^encoder\.layer\.(\d+)\.mlp\.weights_out\./, 'blocks.$1.mlp.w3.'],
  [/^encoder\.layer\.(\d+)\./, 'blocks.$1.'], // norm1, norm2, mlp.fc1, mlp.fc2
];

const HF_QKV = /^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$/;

export function isHuggingFaceDinov2(state: HostState): boolean {
  return state.has('embeddings.cls_token') || [...state.keys()].some((k) => k.startsWith('encoder.layer.'));
}

function concatRows(parts: HostTensor[]): HostTensor {
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { dtype: 'F32', shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...parts[0].shape.slice(1)], data };
}

/**
 * Hugging Face names → hub names. query/key/value of a layer concatenate (in that order, along the
 * output rows) into qkv; names it does not know pass through, so they surface as unexpected keys.
 */
export function huggingFaceToHub(state: HostState): HostState {
  const out: HostState = new Map();
  const qkv = new Map<string, Partial<Record<'query' | 'key' | 'value', [string, HostTensor]>>>();
  for (const [name, t] of state) {
    const m = HF_QKV.exec(name);
    if (m) {
      const key = `blocks.${m[1]}.attn.qkv.${m[3]}`;
      qkv.set(key, { ...qkv.get(key), [m[2]]: [name, t] });
      continue;
    }
    const rule = HF_RENAMES.find(([re]) => re.test(name));
    out.set(rule ? name.replace(rule[0], rule[1]) : name, t);
  }
  for (const [key, parts] of qkv) {
    const { query, key: k, value } = parts;
    if (query && k && value) out.set(key, concatRows([query[1], k[1], value[1]]));
    else for (const p of [query, k, value]) if (p) out.set(p[0], p[1]); // incomplete: report as-is
  }
  return out;
}

export interface Dinov2LoadOptions {
  /** Attention heads; shapes cannot tell. Default: width / 64 (the head width of every DINOv2). */
  numHeads?: number;
  /**
   * DINOv2's interpolate_offset and interpolate_antialias. Default: what the hub builds for the
   * checkpoint — 0 and true when it holds register tokens (the `_reg` models), else 0.1 and false.
   */
  interpolateOffset?: number;
  interpolateAntialias?: boolean;
}

/** The configuration a hub-named state dict describes. */
export function inferDinov2Config(state: HostState, opts: Dinov2LoadOptions = {}): Dinov2Config {
  const need = ['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'blocks.0.norm1.weight'];
  const absent = need.filter((k) => !state.has(k));
  if (absent.length) throw new Error(`not a DINOv2 state dict: missing ${absent.join(', ')}`);
  const embedDim = state.get('cls_token')!.shape.at(-1)!;
  const [, inChannels, patchSize] = state.get('patch_embed.proj.weight')!.shape;
  const positions = state.get('pos_embed')!.shape[1] - 1;
  const pretrainGrid = Math.round(Math.sqrt(positions));
  if (pretrainGrid ** 2 !== positions) throw new Error(`pos_embed holds ${positions} patch positions, not a square grid`);
  const depth = 1 + Math.max(...[...state.keys()].map((k) => /^blocks\.(\d+)\./.exec(k)).map((m) => (m ? Number(m[1]) : -1)));
  const swiglu = state.has('blocks.0.mlp.w12.weight');
  const ffnHidden = swiglu ? state.get('blocks.0.mlp.w12.weight')!.shape[0] / 2 : state.get('blocks.0.mlp.fc1.weight')?.shape[0] ?? 4 * embedDim;
  const numHeads = opts.numHeads ?? embedDim / 64;
  if (!Number.isInteger(numHeads) || embedDim % numHeads) {
    throw new Error(`cannot infer the number of heads of a ${embedDim}-wide model (not a multiple of 64): pass numHeads`);
  }
  const offset = opts.interpolateOffset;
  if (offset !== undefined && !(offset >= 0 && offset < 1)) throw new Error(`interpolateOffset ${offset} is outside [0, 1): pass 0 (exact size) or 0.1 (DINOv2's default)`);
  // The checkpoint says which model it is: only the hub's `_reg` models (and Hugging Face's
  // Dinov2WithRegisters) hold register tokens, and those resize position embeddings antialiased to
  // the exact size (dinov2/hub/backbones.py: interpolate_antialias=True, interpolate_offset=0.0).
  const numRegisters = state.get('register_tokens')?.shape[1] ?? 0;
  return {
    embedDim,
    depth,
    numHeads,
    patchSize,
    pretrainGrid,
    numRegisters,
    ffn: swiglu ? 'swiglu' : 'mlp',
    ffnHidden,
    interpolateOffset: offset ?? (numRegisters ? 0 : 0.1),
    interpolateAntialias: opts.interpolateAntialias ?? numRegisters > 0,
    inChannels,
  };
}

/** Read either checkpoint form into hub-named host tensors. */
export function readDinov2State(path: string): HostState {
  if (!existsSync(path)) {
    throw new UserError(
      `DINOv2 weights not found: ${path}. Weights cannot be downloaded here; copy a checkpoint ` +
        `(torch hub dinov2_vit*14*_pretrain.pth or Hugging Face facebook/dinov2-* model.safetensors) to this path.`,
    );
  }
  const state = readStateDict(path).tensors;
  return isHuggingFaceDinov2(state) ? huggingFaceToHub(state) : state;
}

/**
 * Reads DINOv2 weights on the CPU and infers the network, without the GPU: what a command runs before
 * any work starts. A missing, damaged or foreign file is a one-line UserError naming it.
 */
export function checkDinov2Weights(path: string, opts: Dinov2LoadOptions = {}): Dinov2Config {
  const state = readDinov2State(path); // its errors are one line naming the file already
  const wrong = wrongModelMessage(path, state.keys(), 'dinov2');
  if (wrong) throw new UserError(wrong);
  try {
    return inferDinov2Config(state, opts);
  } catch (e) {
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
}

/**
 * A frozen DINOv2 (eval mode, weights without grad) from a hub `.pth` or a Hugging Face safetensors.
 * Missing, unexpected or mis-shaped tensors are an error that lists them.
 */
export function loadDinov2(path: string, opts: Dinov2LoadOptions = {}): Dinov2 {
  return dinov2FromState(readDinov2State(path), opts, path);
}

/** A frozen DINOv2 from hub-named host tensors (`source` names them in errors). */
export function dinov2FromState(state: HostState, opts: Dinov2LoadOptions = {}, source = 'state dict'): Dinov2 {
  let model: Dinov2 | null = null;
  try {
    model = new Dinov2(inferDinov2Config(state, opts));
    loadModuleFromHost(model, state);
  } catch (e) {
    model?.dispose();
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return model.eval().freeze();
}
