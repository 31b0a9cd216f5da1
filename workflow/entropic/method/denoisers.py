"""The denoiser interface (EDM coordinates) and the exact Gaussian-mixture denoiser that implements it (the
networks' denoisers are built by their model backends, entropic.backends).

Every denoiser is called as `denoiser(x, sigma, labels)`:
    x:      [B, ...] noisy states in EDM coordinates, x = x0 + sigma n,
    sigma:  a float, the noise level of every row,
    labels: [B] long tensor of hypothesis indices 0..K-1, or UNCONDITIONAL (-1) for the reference
            (unconditional) model,
and returns the estimate of x0 with the shape and dtype of x. On a grid that starts at sigma = inf (pure
noise, entropic.theory.noise.FlowSchedule) a denoiser is called there with the state standardised, the limit of
x / sigma. A denoiser may also define
`posterior_variance(sigma, labels, x)`, Var[x0 | x, label] (the denoiser's own uncertainty) at the states
x [B, ...] of the rows, which the exact tracking kernel uses: [B], one variance for every coordinate of a
row, or [B, ...] with x's shape, one per coordinate. Trained networks that predict an uncertainty supply it
the same way: EDM2's log-variance head (one per noise level), DiT's learned variance (one per coordinate).
"""

import numpy as np
import torch

from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

class GMMDenoiser:
    """Exact conditional and unconditional denoisers of an isotropic Gaussian mixture (entropic.theory.mixtures)."""

    def __init__(self,
        mixture,                    # entropic.theory.mixtures.GaussianMixture
        dtype  = torch.float64,     # dtype of the computation and of the outputs
        device = 'cpu',
    ):
        self.num_classes = mixture.num_components
        self.variance = mixture.variance
        self.means = torch.as_tensor(mixture.means, dtype=dtype, device=device)            # [K, d]
        self.log_weights = torch.as_tensor(np.log(mixture.weights), dtype=dtype, device=device)
        self.sq_norms = (self.means ** 2).sum(-1)                                              # [K]

    def log_posterior(self, x, sigma):
        """log p(k | x_sigma); x: [B, d] -> [B, K]."""
        v = self.variance + sigma ** 2
        logits = self.log_weights + (x.to(self.means.dtype) @ self.means.T - 0.5 * self.sq_norms) / v
        return torch.log_softmax(logits, dim=-1)

    def __call__(self, x, sigma, labels):
        shrink = sigma ** 2 / (self.variance + sigma ** 2)      # c: weight of the mean (Tweedie, docs/method.md eq. 3)
        labels = torch.as_tensor(labels, device=x.device)
        uncond = labels == UNCONDITIONAL
        if uncond.all():            # every row unconditional: the same values, without the gather and scatter
            mean = torch.exp(self.log_posterior(x, sigma)) @ self.means
        else:
            mean = self.means[labels.clamp(min=0)]
            if uncond.any():
                mean = mean.clone()
                mean[uncond] = torch.exp(self.log_posterior(x[uncond], sigma)) @ self.means
        return ((1 - shrink) * x.to(mean.dtype) + shrink * mean).to(x.dtype)

    def posterior_variance(self, sigma, labels, x=None):
        """Var[x0_i | x_sigma, k] = v0 sigma^2 / (v0 + sigma^2) for a component, whatever x; [len(labels)]."""
        labels = torch.as_tensor(labels)
        if (labels == UNCONDITIONAL).any():
            raise ValueError('the unconditional posterior of a mixture is not Gaussian: no single variance')
        return torch.full(labels.shape, self.variance * sigma ** 2 / (self.variance + sigma ** 2), dtype=torch.float64)
