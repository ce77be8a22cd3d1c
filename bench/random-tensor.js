// Deterministic pseudo-random inputs for benchmark cases (an LCG on the CPU: no engine RNG involved,
// so every case sees the same data whatever ran before it).
export function randomTensor(E, shape, seed) {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return E.tensor(data, shape);
}

