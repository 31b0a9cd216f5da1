"""Numbers other groups published, and our exact values beside them.

Biroli, Bonnaire, de Bortoli, Mezard 2024 (Nat. Commun. 15, 9957; arXiv:2402.18491) measured the clone
agreement phi(t) of two equiprobable classes N(+-m, I_d), |m|^2 = d, in VP time: 10,000 reverse trajectories
with the exact score, each branched at t into two clones with independent noise, and the fraction of pairs
whose ends fall in the same class (data/biroli2024_clone_agreement.csv, copied from their repository
tbonnair/Dynamical-Regimes-of-Diffusion-Models, MIT licence). Two clones of x_t pick a class independently
with probability p(z | x_t), so phi(t) = E sum_z p(z | X_t)^2: exactly the collision probability that
entropic.theory.exact computes from the posterior whose entropy the pipeline measures, with no sampling. Their
forward process is the pipeline's VP time: x_t = e^{-t} x_0 + sqrt(1 - e^{-2t}) n is x_0 + sigma n rescaled,
sigma = sqrt(e^{2t} - 1) (entropic.theory.noise). Their m = (1, ..., 1); our experiments orient +-m at random, which
changes nothing: the mixture is isotropic, so phi depends on m only through |m|^2 = d.

A stored point differs from the exact phi by its Monte Carlo error, binomial with standard error
sqrt(phi (1 - phi) / 10,000), and by the bias of their Euler-Maruyama sampler (dt = 0.01 from T = 10). That
bias is at most 0.00055 at their points (tests/test_peers.py propagates their discretised chain exactly
along m and finds it); EULER_MARUYAMA_ALLOWANCE = 0.001 bounds it. The tolerance of a point is
z sqrt(phi (1 - phi) / 10,000) + 0.001 + 4 SE of our own estimate, with z the two-sided Bonferroni quantile
that keeps the chance of any false alarm over all stored points below FAMILY_ERROR.
"""

import importlib.resources

import numpy as np
import pandas as pd
from scipy.stats import norm

from entropic.theory import exact, noise

CLONE_PAIRS = 10_000                # clone pairs behind each of Biroli et al.'s points
EULER_MARUYAMA_ALLOWANCE = 0.001    # bound on their sampler's bias in phi (module docstring)
FAMILY_ERROR = 0.01                 # chance that any stored point falls outside its tolerance by Monte Carlo alone

#----------------------------------------------------------------------------

def clone_agreement_points():
    """Biroli et al.'s stored points: DataFrame with columns dim (d), t (VP time), phi (the fraction of agreeing
    clone pairs); 19 times from 1 to 10 for each of d = 256 and 1024."""
    with importlib.resources.as_file(importlib.resources.files('entropic') / 'data' / 'biroli2024_clone_agreement.csv') as path:
        points = pd.read_csv(path, comment='#')
    if list(points.columns) != ['dim', 't', 'phi'] or not points['phi'].between(0, 1).all():
        raise ValueError('biroli2024_clone_agreement.csv: expected columns dim, t, phi with phi in [0, 1]')
    return points

def binomial_se(phi, pairs=CLONE_PAIRS):
    """Standard error of a fraction of `pairs` independent agreements with probability phi."""
    phi = np.asarray(phi, dtype=np.float64)
    return np.sqrt(phi * (1 - phi) / pairs)

def family_quantile(num_points, family_error=FAMILY_ERROR):
    """z such that num_points two-sided normal deviations all stay within z with probability 1 - family_error."""
    return float(norm.isf(family_error / (2 * num_points)))

def compare_clone_agreement(
    projected,          # ProjectedMixture of a two-class mixture in Biroli et al.'s setting (|m|^2 = d, v0 = 1)
    points,             # rows of clone_agreement_points() for this mixture's d
    num_points,         # quasi-Monte Carlo points per replicate (a power of 2), as exact.exact_entropy_curve
    num_replicates,     # scrambled replicates
    rng,                # numpy Generator
    family_size = None, # stored points the family error is shared over; None: every stored point
):
    """Our exact phi at every stored time beside theirs: DataFrame with dim, t, sigma (EDM, sigma = sqrt(e^{2t}
    - 1)), phi_peer, phi, phi_se, difference (theirs - ours), peer_se (binomial, at our phi), tolerance (module
    docstring) and z = difference / peer_se (inf where peer_se is 0 and they differ)."""
    family_size = len(clone_agreement_points()) if family_size is None else family_size
    t = points['t'].to_numpy(dtype=np.float64)
    sigma = noise.vp_time_to_sigma(t)
    hypotheses = exact.Hypotheses.from_partition(projected.weights, [[0], [1]])
    curve = exact.exact_entropy_curve(projected, sigma, hypotheses, num_points, num_replicates, rng)
    phi, phi_se = curve['phi'], curve['phi_se']
    peer = points['phi'].to_numpy(dtype=np.float64)
    peer_se = binomial_se(phi)
    difference = peer - phi
    with np.errstate(divide='ignore', invalid='ignore'):
        z = np.where(peer_se > 0, difference / peer_se, np.where(difference == 0, 0.0, np.inf))
    tolerance = family_quantile(family_size) * peer_se + EULER_MARUYAMA_ALLOWANCE + 4 * phi_se
    return pd.DataFrame(dict(dim=points['dim'].to_numpy(), t=t, sigma=sigma, phi_peer=peer, phi=phi, phi_se=phi_se,
                             difference=difference, peer_se=peer_se, tolerance=tolerance, z=z))
