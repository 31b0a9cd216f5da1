"""A mixture's exact denoiser that also takes the first step from pure noise, sigma = inf (test helper for
tests/test_sampler.py and tests/test_trajectories.py)."""

import numpy as np
import torch

from entropic.method import denoisers
from entropic.method.denoisers import UNCONDITIONAL


class FromPureNoise:
    """The exact mixture denoiser, with its sigma -> inf limits at sigma = inf, where the sampler holds the state
    standardised: D = the component mean (the unconditional one: the mixture's mean), Var[x0 | x, k] = v0."""
    def __init__(self, mixture):
        self.exact, self.mixture = denoisers.GMMDenoiser(mixture), mixture
        self.num_classes = mixture.num_components

    def __call__(self, x, sigma, labels):
        if not np.isinf(sigma):
            return self.exact(x, sigma, labels)
        labels = torch.as_tensor(labels)
        means = np.vstack([self.mixture.means, self.mixture.weights @ self.mixture.means])
        means = torch.as_tensor(means, dtype=x.dtype)
        return means[torch.where(labels == UNCONDITIONAL, self.num_classes, labels)]

    def posterior_variance(self, sigma, labels, x):
        if not np.isinf(sigma):
            return self.exact.posterior_variance(sigma, labels, x)
        return torch.full(torch.as_tensor(labels).shape, self.mixture.variance, dtype=torch.float64)
