"""Isotropic Gaussian mixtures: exact denoisers, exact class posterior, flat and hierarchical means.

X0 | Z=k ~ N(m_k, v0 I_d) with prior weights w_k. In EDM coordinates X_sigma = X0 + sigma n, so
X_sigma | Z=k ~ N(m_k, (v0 + sigma^2) I_d) and (Tweedie, docs/method.md eq. 3)

    p(k | x)   ∝ w_k exp(-|x - m_k|^2 / (2 (v0 + sigma^2)))
    D(x; k)    = m_k + v0 / (v0 + sigma^2) (x - m_k)
    D(x)       = sum_k p(k | x) D(x; k)
    Var[x0 | x, k] = v0 sigma^2 / (v0 + sigma^2) I_d.

The posterior depends on x only through its projection on the span of the centred means
(rank r <= K - 1), which `ProjectedMixture` exploits so that exact entropies cost O(K r), not O(d).
"""

import dataclasses
import numpy as np
from scipy.special import log_softmax

from entropic.theory import partitions as P

#----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class GaussianMixture:
    means:      np.ndarray  # [K, d] component means, data units
    variance:   float       # v0 > 0: variance of every component along every axis
    weights:    np.ndarray  # [K] prior probabilities of the components, summing to 1

    def __post_init__(self):
        means = np.asarray(self.means, dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)
        if means.ndim != 2:
            raise ValueError(f'means must be [K, d], got shape {means.shape}')
        if weights.shape != (means.shape[0],):
            raise ValueError(f'weights must have one entry per component ({means.shape[0]}), got shape {weights.shape}')
        if not (np.all(weights > 0) and abs(weights.sum() - 1) < 1e-9):
            raise ValueError(f'weights must be positive and sum to 1, got {weights}')
        if not self.variance > 0:
            raise ValueError(f'component variance must be > 0, got {self.variance}')
        if not np.all(np.isfinite(means)):
            raise ValueError('means contain NaN or inf')
        object.__setattr__(self, 'means', means)
        object.__setattr__(self, 'weights', weights)
        object.__setattr__(self, 'variance', float(self.variance))

    @property
    def num_components(self):
        return self.means.shape[0]

    @property
    def dim(self):
        return self.means.shape[1]

    def restrict(self, components):
        """The mixture conditioned on Z in `components` (weights renormalised, order kept)."""
        components = np.asarray(components)
        w = self.weights[components]
        return GaussianMixture(self.means[components], self.variance, w / w.sum())

    # Largest eigenvalue Lambda of the data covariance v0 I + sum_k w_k (m_k - mbar)(m_k - mbar)^T.
    # Its nonzero between-class part shares eigenvalues with the K x K matrix W^1/2 M_c M_c^T W^1/2.
    def covariance_top_eigenvalue(self):
        centred = self.means - self.weights @ self.means
        root_w = np.sqrt(self.weights)
        gram = (root_w[:, None] * centred) @ (centred * root_w[:, None]).T
        return self.variance + max(float(np.linalg.eigvalsh(gram)[-1]), 0.0)

    def sample(self, n, rng, sigma=0.0):
        """Draw (x_sigma, z): z ~ weights, x0 ~ N(m_z, v0 I), x_sigma = x0 + sigma n; x: [n, d], z: [n]."""
        z = rng.choice(self.num_components, size=n, p=self.weights)
        scale = np.sqrt(self.variance + sigma ** 2)
        return self.means[z] + scale * rng.standard_normal((n, self.dim)), z

    def log_posterior(self, x, sigma):
        """log p(k | x_sigma) for every component; x: [n, d] -> [n, K]."""
        x = np.atleast_2d(x)
        v = self.variance + sigma ** 2
        sq_dist = (x ** 2).sum(-1, keepdims=True) - 2 * x @ self.means.T + (self.means ** 2).sum(-1)
        return log_softmax(np.log(self.weights) - sq_dist / (2 * v), axis=-1)

    def denoise(self, x, sigma, z=None):
        """Exact D(x; sigma, z) = E[x0 | x_sigma, z]; unconditional E[x0 | x_sigma] when z is None. x: [n, d]."""
        x = np.atleast_2d(x)
        c = sigma ** 2 / (self.variance + sigma ** 2)       # weight of the mean in the conditional denoiser
        if z is None:
            mean = np.exp(self.log_posterior(x, sigma)) @ self.means
        else:
            mean = self.means[np.broadcast_to(np.asarray(z), (x.shape[0],))]
        return (1 - c) * x + c * mean

    def posterior_variance(self, sigma):
        """Var[x0_i | x_sigma, z] per coordinate: v0 sigma^2 / (v0 + sigma^2)."""
        return self.variance * sigma ** 2 / (self.variance + sigma ** 2)

    def project(self):
        """The same mixture in the orthonormal coordinates of the span of its centred means."""
        return ProjectedMixture.from_mixture(self)

#----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ProjectedMixture:
    """Coordinates y = U^T (x - mbar) on the span of the centred means (U: [d, r] orthonormal).

    For x ~ N(m_z, (v0 + sigma^2) I_d), y ~ N(mu_z, (v0 + sigma^2) I_r) exactly, and the posterior,
    the denoiser differences D(x; k) - D(x) and hence every entropy and I-MMSE integrand depend on
    x only through y.
    """
    coords:     np.ndarray  # [K, r] centred means in the basis U
    variance:   float       # v0
    weights:    np.ndarray  # [K]

    @classmethod
    def from_mixture(cls, mixture):
        centred = mixture.means - mixture.weights @ mixture.means
        # Thin SVD of the K x d matrix: the right singular vectors span the means; cost O(K^2 d).
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        rank = int(np.sum(s > s.max(initial=0.0) * 1e-12)) if s.size else 0
        coords = u[:, :rank] * s[:rank]     # = centred @ V[:, :rank]
        return cls(coords, mixture.variance, mixture.weights)

    @property
    def num_components(self):
        return self.coords.shape[0]

    def log_posterior(self, y, sigma):
        """log p(k | y) for y: [..., r] -> [..., K]; the |y|^2 term is common to all k and dropped."""
        v = self.variance + sigma ** 2
        logits = (y @ self.coords.T - 0.5 * (self.coords ** 2).sum(-1)) / v
        return log_softmax(np.log(self.weights) + logits, axis=-1)

#----------------------------------------------------------------------------
# Constructors.

def random_orthonormal(dim, count, rng):
    """`count` random orthonormal directions in R^dim as the columns of a [dim, count] matrix."""
    if count > dim:
        raise ValueError(f'need dim >= {count} for {count} orthogonal directions, got dim={dim}')
    q, r = np.linalg.qr(rng.standard_normal((dim, count)))
    return q * np.sign(np.diag(r))  # Haar-distributed

def regular_simplex(num_vertices):
    """Vertices of a regular simplex centred at 0 with unit norm, in R^(K-1); [K, K-1]."""
    centred = np.eye(num_vertices) - 1 / num_vertices
    u, _, _ = np.linalg.svd(centred)
    vertices = centred @ u[:, :num_vertices - 1]
    return vertices / np.linalg.norm(vertices, axis=1, keepdims=True)

def simplex_mixture(
    num_components,         # K >= 2
    dim,                    # d >= K - 1
    signal_per_dim,         # |m_k|^2 / d (|m|^2 / d of docs/method.md eq. 12): squared distance of each mean from the centre, per dimension
    rng,                    # numpy Generator that draws the random orientation
    variance = 1.0,         # v0, component variance
    weights  = None,        # [K] prior; uniform when None
):
    """K equidistant means (a regular simplex, randomly oriented in R^d) with |m_k|^2 = d * signal_per_dim.

    For K = 2 this is the two-class problem +-m of docs/method.md eq. 12; the data covariance has
    Lambda = v0 + d * signal_per_dim / (K - 1) for uniform weights.
    """
    basis = random_orthonormal(dim, num_components - 1, rng)
    means = np.sqrt(dim * signal_per_dim) * regular_simplex(num_components) @ basis.T
    weights = np.full(num_components, 1 / num_components) if weights is None else np.asarray(weights, dtype=np.float64)
    return GaussianMixture(means, variance, weights)

def hierarchical_mixture(
    num_superclasses,       # S >= 2 coarse classes
    num_subclasses,         # B >= 2 fine classes inside every superclass; K = S * B, superclass-major order
    dim,                    # d >= (S - 1) + S (B - 1)
    coarse_signal_per_dim,  # squared distance of each superclass centre from the centre, per dimension
    fine_signal_per_dim,    # squared distance of each subclass mean from its superclass centre, per dimension
    rng,                    # numpy Generator that draws the random orientation
    variance = 1.0,         # v0
):
    """A two-level tree of means: superclass centres on a simplex, subclasses on smaller simplices around them,
    every simplex in its own orthogonal subspace (so the coarse and fine separations do not interact)."""
    basis = random_orthonormal(dim, (num_superclasses - 1) + num_superclasses * (num_subclasses - 1), rng)
    coarse_dirs, fine_dirs = basis[:, :num_superclasses - 1], basis[:, num_superclasses - 1:]
    centres = np.sqrt(dim * coarse_signal_per_dim) * regular_simplex(num_superclasses) @ coarse_dirs.T
    offsets = np.sqrt(dim * fine_signal_per_dim) * regular_simplex(num_subclasses)
    means = []
    for s in range(num_superclasses):
        dirs = fine_dirs[:, s * (num_subclasses - 1):(s + 1) * (num_subclasses - 1)]
        means.append(centres[s] + offsets @ dirs.T)
    num_components = num_superclasses * num_subclasses
    return GaussianMixture(np.concatenate(means), variance, np.full(num_components, 1 / num_components))

#----------------------------------------------------------------------------
# Experiments as the config describes them (the config key `gmm.experiments`).

def experiment_components(spec):
    """K, the number of components of a validated experiment entry (before its mixture is drawn)."""
    return spec['superclasses'] * spec['subclasses'] if spec['kind'] == 'hierarchical' else spec['components']

def build_experiment(name, spec, seed):
    """(mixture, partitions) for one validated config entry; partitions: dict name -> list of cells.

    Every mixture has the partition `classes` (each component its own cell); a hierarchical one adds
    `superclasses` (the coarse level) and `subclasses-of-<s>` (the fine level inside superclass s);
    `spec['partitions']` adds the user's own.
    """
    rng = np.random.default_rng(seed)
    if spec['kind'] == 'simplex':
        mixture = simplex_mixture(spec['components'], spec['dim'], spec['signal_per_dim'], rng,
                                  variance=spec['variance'], weights=spec.get('weights'))
        parts = {'classes': P.identity_partition(mixture.num_components)}
    elif spec['kind'] == 'hierarchical':
        S, B = spec['superclasses'], spec['subclasses']
        mixture = hierarchical_mixture(S, B, spec['dim'], spec['coarse_signal_per_dim'], spec['fine_signal_per_dim'],
                                       rng, variance=spec['variance'])
        parts = {'classes': P.identity_partition(S * B),
                 'superclasses': [list(range(s * B, (s + 1) * B)) for s in range(S)]}
        parts.update({f'subclasses-of-{s}': [[k] for k in range(s * B, (s + 1) * B)] for s in range(S)})
    else:
        raise ValueError(f"gmm.experiments.{name}.kind: must be 'simplex' or 'hierarchical', got {spec['kind']!r}")
    for part_name, cells in spec.get('partitions', {}).items():
        key = f'gmm.experiments.{name}.partitions.{part_name}'
        if part_name in parts:
            raise ValueError(f'{key}: the name is taken by a built-in partition; choose another')
        parts[part_name] = P.check_partition(cells, mixture.num_components, name=key)
    return mixture, parts

def load_mixture(means_path, info):
    """The mixture an experiment wrote: its means.npy and the variance and weights of its mixture.json."""
    means = np.load(means_path)
    return GaussianMixture(means, info['variance'], np.asarray(info['weights']))
