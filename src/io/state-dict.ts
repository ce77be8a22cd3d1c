// A network's weights from the file a user has: safetensors, or a PyTorch `torch.save` zip (.pth/.pt)
// holding the state dict itself or wrapped the way training scripts save it — BCP's
// {'net': state_dict, 'opt': optimizer.state_dict()}, {'state_dict': …}, {'model': …} — possibly with
// DataParallel's 'module.' prefix on every name. The format is recognised from the bytes, not the
// file name. Problems a user can fix are CheckpointErrors: one line naming the file and the fix.
import { readFileSync } from 'node:fs';
import { decodePth } from './pth.js';
import { decodeSafetensors, type HostTensor } from './safetensors.js';

/** A weights file that cannot serve: the message is one line, naming the file and what to do. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface StateDictFile {
  tensors: Map<string, HostTensor>;
  /** safetensors metadata ({} for .pth). */
  metadata: Record<string, string>;
  format: 'safetensors' | 'pth';
  /** What unwrapping did, for a notice ("weights from 'net'; 'opt' (optimiser state) ignored"). */
  notes: string[];
}

/** Top-level entries a training script wraps the state dict in, and the companions saved beside it. */
const WRAPPERS = ['net', 'state_dict', 'model', 'model_state_dict'];
const OPTIMISER_ENTRIES = new Set(['opt', 'optim', 'optimizer', 'optimizer_state_dict', 'scheduler', 'lr_scheduler']);

export function readStateDict(path: string): StateDictFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`${path}: ${code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a weights file' : `cannot read (${code})`}. Check the path to the weights file.`);
  }
  let file: Omit<StateDictFile, 'notes'>;
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50) {
    file = { tensors: wrapped(path, () => decodePth(buf, path)), metadata: {}, format: 'pth' };
  } else if (buf[0] === 0x80 && buf[1] >= 2 && buf[1] <= 5) {
    throw new CheckpointError(
      `${path}: a pickled Python object (a legacy torch.save file or a pickle such as StyleGAN2-ADA's network-snapshot .pkl), not a state dict. ` +
        'Re-save the weights with torch ≥ 1.6: torch.save(model.state_dict(), "model.pth").',
    );
  } else if (buf.length > 8 && buf[8] === 0x7b /* '{' after the 8-byte header length */) {
    file = { ...wrapped(path, () => decodeSafetensors(buf, path)), format: 'safetensors' };
  } else {
    throw new CheckpointError(`${path}: neither a safetensors file nor a PyTorch zip checkpoint. Give a .safetensors file or a .pth saved with torch ≥ 1.6.`);
  }
  return { ...file, ...unwrapStateDict(file.tensors) };
}

/** Runs a decoder, turning its errors into one-line CheckpointErrors. */
function wrapped<T>(path: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    throw new CheckpointError(`${message.startsWith(path) ? message : `${path}: ${message}`}. Give a .safetensors file or a PyTorch .pth saved with torch ≥ 1.6.`);
  }
}

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
