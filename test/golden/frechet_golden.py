"""Reference FD (scipy.linalg.sqrtm, covariance normalised by N as in the published metric_utils) and
KID (unbiased cubic-polynomial MMD; one subset holding every vector, so no randomness) on small random
feature sets. Writes test/golden/frechet_golden.json. Run: /usr/bin/python3 test/golden/frechet_golden.py"""
import json

import numpy as np
import scipy.linalg


def stats(f):
    mu = f.mean(axis=0)
    return mu, (f - mu).T @ (f - mu) / len(f)


def fd(mu1, s1, mu2, s2):
    root, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
    return float(np.real(np.square(mu1 - mu2).sum() + np.trace(s1 + s2 - root * 2)))


def kid_full(x, y):
    n, m = x.shape[1], len(x)
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    return float(((a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m) / m)


def main():
    rng = np.random.default_rng(3)
    cases = []
    for n1, n2, d in [(40, 50, 6), (30, 30, 11)]:
        a = rng.normal(size=(n1, d)) @ rng.normal(size=(d, d)) * 0.5
        b = rng.normal(size=(n2, d)) * 0.8 + 0.3
        mu1, s1 = stats(a)
        mu2, s2 = stats(b)
        m = min(n1, n2)
        cases.append({'a': a.tolist(), 'b': b.tolist(), 'mu1': mu1.tolist(), 'sigma1': s1.flatten().tolist(),
                      'fd': fd(mu1, s1, mu2, s2), 'kid': kid_full(a[:m], b[:m]), 'm': m})
    with open('test/golden/frechet_golden.json', 'w') as f:
        json.dump({'cases': cases}, f)


if __name__ == '__main__':
    main()
