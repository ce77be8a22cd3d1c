// FLOPs and bytes of one kernel launch, from what the launch itself reported (the dispatch observer
// of kernels/common.ts `run`: kernel key, uniform values, operand shapes and bound bytes) — no model
// of the network. Used by bench/roofline.js.
//
// Bytes: every bound operand read or written once (a range bound twice counts once) — the
// compulsory traffic, a floor; real kernels re-read tiles and may read more.
// FLOPs (a multiply-add is 2):
// - conv2d forward / input gradient (gather, rowsForward, the GPU's gemm): 2 · output elements · source
//   channels per group (cs) · taps; weight gradient (weightGrad, rowsWeightGrad, gemmWeightGrad):
//   2 · weight elements · N·H·W of the output gradient; padding and packing copies: 0.
// - matmul: 2 · M · N · (kEnd − kBegin) · batch items in this dispatch (the grid's z).
// - attention: per score and head dimension, forward 4 (QKᵀ, PV), backward-query 6 (recomputed
//   QKᵀ, dP = dO·Vᵀ, dQ = dS·K), backward-key 8 (recomputed QKᵀ, dP, dV = Pᵀ·dO, dK = dSᵀ·Q).
// - everything else (elementwise, reductions, normalisation, softmax, losses, optimisers, layout):
//   a nominal count per element of the largest operand (PER_ELEMENT below). These kernels are
//   memory-bound by far on any GPU, so their floor is their bytes and the nominal FLOPs never decide it.
// A kernel family without a rule throws: add one here when you add a kernel family.

const PER_ELEMENT = {
  unary: 1, binary: 1, ternary: 2, fill: 0, blend: 3, biasAct: 2, reduce: 1, softmax: 5, norm: 4,
  optim: 6, loss: 10, layout: 0, pool: 1, random: 8, resize: 8, reflectPad: 0, gridSample: 10,
  saLoss: 10, finite: 1, modconv: 2, upfirdn2d: 8,
};
const OPTIM = { sgd: 3, sgd_momentum: 6, adam: 12, ema: 3 };

const elems = (bytes) => bytes / 4;
const taps = (key) => {
  const m = /:(\d+)x(\d+)(:|$)/.exec(key);
  if (!m) throw new Error(`roofline: no kernel size in conv2d key '${key}'`);
  return Number(m[1]) * Number(m[2]);
};
const need = (d, ...names) => {
  for (const n of names) {
    if (typeof d.values[n] !== 'number') throw new Error(`roofline: kernel '${d.key}' has no uniform '${n}' (its cost rule in bench/roofline-costs.js needs updating)`);
  }
  return names.map((n) => d.values[n]);
};

/** FLOPs of one launch. */
export function flopsOf(d) {
  const [family, variant] = d.key.split(':');
  const largest = Math.max(...d.bindingBytes.map(elems));
  switch (family) {
    case 'conv2d': {
      if (variant === 'gather' || variant === 'rowsForward' || variant === 'gemm') {
        const [cs] = need(d, 'cs');
        return 2 * elems(d.bindingBytes[2]) * cs * taps(d.key); // bindings: source, packed weights, output, bias
      }
      if (variant === 'weightGrad' || variant === 'rowsWeightGrad' || variant === 'gemmWeightGrad') {
        const [weightSize, dstC] = need(d, 'weightSize', 'dstC');
        const dy = d.shapes[1] ? d.shapes[1].reduce((a, b) => a * b, 1) : elems(d.bindingBytes[1]);
        return 2 * weightSize * (dy / dstC); // bindings: source, output gradient, partial sums
      }
      if (variant === 'padRows' || variant === 'padRowsVec4' || variant === 'packWeights') return 0;
      throw new Error(`roofline: no cost rule for conv2d kernel '${d.key}'`);
    }
    case 'matmul': {
      const [M, N, kBegin, kEnd] = need(d, 'M', 'N', 'kBegin', 'kEnd');
      return 2 * M * N * (kEnd - kBegin) * d.grid[2];
    }
    case 'attention': {
      const [nk] = need(d, 'nk');
      const q = d.shapes[0].reduce((a, b) => a * b, 1); // lead · nq · dh
      const per = { forward: 4, backwardQuery: 6, backwardKey: 8 }[variant.replace(/Tiled$/, '')];
      if (!per) throw new Error(`roofline: no cost rule for attention kernel '${d.key}'`);
      return per * q * nk;
    }
    case 'optim': {
      if (!(variant in OPTIM)) throw new Error(`roofline: no cost rule for optimiser kernel '${d.key}'`);
      const n = typeof d.values.n === 'number' ? d.values.n : largest;
      return OPTIM[variant] * n;
    }
    default:
      if (!(family in PER_ELEMENT)) throw new Error(`roofline: no cost rule for kernel family '${family}' ('${d.key}'); add one to bench/roofline-costs.js`);
      return PER_ELEMENT[family] * largest;
  }
}

/** Bytes one launch must move at least: each distinct bound operand once. */
export function bytesOf(d) {
  // An optimiser updates a range [base, base + n) of its arenas: n elements of each operand.
  if (d.key.startsWith('optim:') && typeof d.values.n === 'number') return 4 * d.values.n * d.bindingBytes.filter((b) => b > 0).length;
  return d.bindingBytes.reduce((a, b) => a + b, 0);
}
