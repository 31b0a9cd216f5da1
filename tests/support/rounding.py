"""Tolerances for comparing floating-point results that differ only by rounding, derived from the arithmetic.

Two float32 network evaluations that differ only in the order of their reductions (another batch size or
chunking, another BLAS or SIMD kernel on another CPU) differ by rounding that is a few units of the
activations' scale per layer, not of each element: an element near 0 carries the same absolute error as the
largest one. Hence an absolute tolerance in units of the largest |value|, never an element-wise relative one.
"""

FLOAT32_ULP = 2.0 ** -24        # unit roundoff of float32

def float32_network_atol(reference, ulps=64):
    """Absolute tolerance for a float32 network output computed two ways that differ only in rounding:
    `ulps` float32 units of the largest |reference|. 64 covers the tiny EDM2, SD1.5, CLIP text and digits
    networks of these tests, whose largest difference measured over five BLAS/SIMD kernel settings (OpenBLAS
    core types, MKL instruction sets and CBWR modes, ATen CPU capability, 1 or 2 threads) is 13 units."""
    return ulps * FLOAT32_ULP * float(abs(reference).max())

def float32_cumprod_rtol(betas):
    """Relative error bound of diffusers' float32 alpha_bar_t = prod_{s <= t} (1 - beta_s) against the float64 one
    of the same betas [T]: each beta rounded to float32 (and built from float32 linspace / squares: 3 roundings,
    |d beta| <= 3 u beta, i.e. 3 u beta / (1 - beta) relative to 1 - beta), each 1 - beta rounded (u) and each
    partial product rounded (u); first order in u. [T] float64."""
    import numpy as np
    betas = np.asarray(betas, dtype=np.float64)
    return np.cumsum(3 * FLOAT32_ULP * betas / (1 - betas) + 2 * FLOAT32_ULP)
