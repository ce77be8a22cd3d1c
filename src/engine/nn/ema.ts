// Mean-teacher weight averaging over whole modules: teacher ← α·teacher + (1 − α)·student, tensor by
// tensor through the fused in-place EMA kernel.
import { emaUpdate } from '../../../kernels/optim.js';
import { fmtShape } from '../tensor/shape.js';
import type { Module } from './module.js';

/**
 * Average `student`'s parameters into `teacher`'s (same architecture; matched by name). With
 * `buffers`, BatchNorm running statistics are averaged too; integer buffers (batch counters) are
 * left alone, since an average of counts means nothing.
 */
export function updateEmaModel(teacher: Module, student: Module, alpha: number, { buffers = false }: { buffers?: boolean } = {}): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`updateEmaModel: alpha ${alpha} must lie in [0, 1]`);
  const pairs = [...teacher.namedParameters(), ...(buffers ? teacher.namedBuffers() : [])];
  const source = new Map([...student.namedParameters(), ...(buffers ? student.namedBuffers() : [])]);
  if (source.size !== pairs.length) {
    throw new Error(`updateEmaModel: the teacher has ${pairs.length} tensors to average, the student ${source.size}`);
  }
  for (const [name, t] of pairs) {
    const s = source.get(name);
    if (!s) throw new Error(`updateEmaModel: the student has no tensor '${name}'`);
    if (t.dtype !== 'f32') continue;
    if (s.size !== t.size) throw new Error(`updateEmaModel: '${name}' is ${fmtShape(t.shape)} in the teacher, ${fmtShape(s.shape)} in the student`);
    emaUpdate(t, s, alpha);
  }
}
