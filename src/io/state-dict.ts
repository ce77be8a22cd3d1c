// The one reader of weights files: whatever network they hold, every file a user gives (a UNet's
// --checkpoint or --init, DINOv2 weights, a generator) becomes a name → host tensor map here.
// Formats, recognised from the bytes, never the file name: safetensors, or a PyTorch `torch.save` zip
// (.pth/.pt) holding the state dict itself or wrapped the way training scripts save it — BCP's
// {'net': state_dict, 'opt': optimizer.state_dict()}, {'state_dict': …}, {'model': …} — possibly with
// DataParallel's 'module.' prefix on every name. Half-precision tensors (some Hub uploads) are widened
// to f32, the engine's only float type. Problems a user can fix are one-line UserErrors (or the
// engine's InputError for a damaged safetensors file) naming the file and the fix. What the tensors
// belong to is decided elsewhere (models/weights.ts).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { decodeSafetensors, type HostTensor } from '../engine/index.js';
import { UserError } from '../errors.js';
import { looksLikePickle } from './pickle.js';
import { bf16ToFloat, decodePth, halfToFloat } from './pth.js';

export type WeightsFormat = 'safetensors' | 'pth' | 'pickle';

export interface StateDictFile {
  tensors: Map<string, HostTensor>;
  /** safetensors metadata ({} for .pth). */
  metadata: Record<string, string>;
  format: 'safetensors' | 'pth';
  /** What unwrapping did, for a notice ("weights from 'net'; 'opt' (optimiser state) ignored"). */
  notes: string[];
}

/** Bytes weightsFormat needs: safetensors' JSON header starts after its 8-byte length. */
const HEAD_BYTES = 9;

/** What a weights file is from its first bytes: a zip (torch.save ≥ 1.6), a plain pickle, safetensors, or null. */
export function weightsFormat(head: Uint8Array): WeightsFormat | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth';
  if (looksLikePickle(head)) return 'pickle';
  if (head.length >= HEAD_BYTES && head[8] === 0x7b /* '{' */) return 'safetensors';
  return null;
}

/** The format of the file at `path` from its first bytes (the file must exist). */
export function weightsFormatOf(path: string): WeightsFormat | null {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(HEAD_BYTES);
    return weightsFormat(head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0)));
  } finally {
    closeSync(fd);
  }
}

/** Reads a weights file (safetensors or a torch zip, wrappers removed) into host tensors; see the file's header. */
export function readStateDict(path: string): StateDictFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a weights file' : `cannot be read (${code})`}; check the path to the weights file`);
  }
  const format = weightsFormat(buf);
  let file: Omit<StateDictFile, 'notes'>;
  if (format === 'pth') file = { tensors: decodeTorchZip(buf, path), metadata: {}, format };
  else if (format === 'safetensors') file = { ...decodeSafetensors(buf, path), format }; // its InputErrors name the file and the fix
  else if (format === 'pickle') {
    throw new UserError(
      `${path}: a pickled Python object (a legacy torch.save file, or a pickle such as StyleGAN2-ADA's network-snapshot-*.pkl, which generate.js reads), not a state dict; ` +
        're-save the weights with torch ≥ 1.6: torch.save(model.state_dict(), "model.pth")',
    );
  } else throw new UserError(`${path}: neither a safetensors file nor a PyTorch zip checkpoint; give a .safetensors file or a .pth saved with torch ≥ 1.6`);
  const { tensors, notes } = unwrapStateDict(widenHalves(file.tensors));
  return { ...file, tensors, notes };
}

/** decodePth with its errors (a damaged archive, an unsupported pickle) as one-line UserErrors. */
function decodeTorchZip(buf: Buffer, path: string): Map<string, HostTensor> {
  try {
    return decodePth(buf, path);
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    throw new UserError(`${message.startsWith(path) ? message : `${path}: ${message}`}; give a .safetensors file or a PyTorch .pth saved with torch ≥ 1.6`);
  }
}

/** F16/BF16 tensors (safetensors keeps them as stored) widened to F32, in place. */
function widenHalves(tensors: Map<string, HostTensor>): Map<string, HostTensor> {
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F16' && t.dtype !== 'BF16') continue;
    const widen = t.dtype === 'F16' ? halfToFloat : bf16ToFloat;
    tensors.set(name, { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.data as Uint16Array, widen) });
  }
  return tensors;
}

/** Top-level entries a training script wraps the state dict in, and the companions saved beside it. */
const WRAPPERS = ['net', 'state_dict', 'model', 'model_state_dict'];
const OPTIMISER_ENTRIES = new Set(['opt', 'optim', 'optimizer', 'optimizer_state_dict', 'scheduler', 'lr_scheduler']);

/**
 * Flattened names ('net.encoder.…', 'opt.state.0.momentum_buffer') back to the state dict's own:
 * the entries under a wrapper when everything else beside it is optimiser state; then 'module.'
 * (DataParallel) stripped when every name has it. Anything else is left as it is.
 */
export function unwrapStateDict(tensors: Map<string, HostTensor>): { tensors: Map<string, HostTensor>; notes: string[] } {
  const notes: string[] = [];
  const top = new Set([...tensors.keys()].map((k) => k.split('.')[0]));
  const wrapper = WRAPPERS.find((w) => top.has(w));
  let out = tensors;
  if (wrapper && [...top].every((t) => t === wrapper || OPTIMISER_ENTRIES.has(t))) {
    out = new Map();
    for (const [k, v] of tensors) if (k.startsWith(`${wrapper}.`)) out.set(k.slice(wrapper.length + 1), v);
    const ignored = [...top].filter((t) => t !== wrapper);
    notes.push(`weights from '${wrapper}'${ignored.length ? `; ${ignored.map((t) => `'${t}'`).join(', ')} (optimiser state) ignored` : ''}`);
  }
  if (out.size && [...out.keys()].every((k) => k.startsWith('module.'))) {
    out = new Map([...out].map(([k, v]) => [k.slice('module.'.length), v]));
    notes.push("'module.' prefix (DataParallel) removed");
  }
  return { tensors: out, notes };
}
