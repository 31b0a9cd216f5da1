"""EDM2's networks as one denoiser (entropic.method.denoisers): the conditional network for the classes and,
as EDM2 guides, the separately trained unconditional network for UNCONDITIONAL.

Classifier-free guidance in EDM2 uses a separately trained unconditional network (the conditional nets
are trained without label dropout: NVlabs/edm2 train_edm2.py), so `EDM2Denoiser` routes UNCONDITIONAL rows to
it. Its posterior variance is read from the networks' learned uncertainty (Karras et al. 2024, arXiv:2312.02696,
eq. 21).
"""

import math

import torch

from entropic.theory.partitions import UNCONDITIONAL

#----------------------------------------------------------------------------

class EDM2Denoiser:
    """The conditional EDM2 net for classes 0..K-1 and the separately trained unconditional net for
    UNCONDITIONAL, as a denoiser of entropic.method.denoisers (EDM2's classifier-free guidance, Karras et al. 2024, arXiv:2312.02696)."""

    def __init__(self,
        net,                            # conditional Precond (label_dim = K)
        gnet      = None,               # unconditional Precond (label_dim = 0); None: UNCONDITIONAL is refused
        max_batch = 64,                 # rows per network call (memory bound)
    ):
        if not net.label_dim:
            raise ValueError('the first EDM2 network must be conditional (label_dim > 0)')
        if gnet is not None and (gnet.label_dim or gnet.img_resolution != net.img_resolution
                                 or gnet.img_channels != net.img_channels):
            raise ValueError('the guiding EDM2 network must be unconditional with the latent shape of the conditional one')
        self.net, self.gnet, self.max_batch = net, gnet, int(max_batch)
        self.num_classes = net.label_dim
        self.shape = (net.img_channels, net.img_resolution, net.img_resolution)

    def _run(self, net, x, sigma, labels):
        one_hot = torch.nn.functional.one_hot(labels, net.label_dim) if net.label_dim else None
        sig = torch.full((len(x),), float(sigma), device=x.device)
        return torch.cat([net(x[i:i + self.max_batch], sig[i:i + self.max_batch],
                              None if one_hot is None else one_hot[i:i + self.max_batch])
                          for i in range(0, len(x), self.max_batch)])

    def __call__(self, x, sigma, labels):               # x: [B, C, R, R]
        device = next(self.net.parameters()).device
        labels = torch.as_tensor(labels, dtype=torch.long).to(device)
        xd = x.to(device=device, dtype=torch.float32)
        uncond = labels == UNCONDITIONAL
        if uncond.any() and self.gnet is None:
            raise ValueError('UNCONDITIONAL asked of an EDM2 denoiser without an unconditional network')
        out = torch.empty_like(xd)
        with torch.no_grad():
            if (~uncond).any():
                out[~uncond] = self._run(self.net, xd[~uncond], sigma, labels[~uncond])
            if uncond.any():
                out[uncond] = self._run(self.gnet, xd[uncond], sigma, labels[uncond])
        return out.to(device=x.device, dtype=x.dtype)

    def posterior_variance(self, sigma, labels, x=None):
        """Per-coordinate Var[x0 | x, label] from the learned uncertainty u(sigma), the same for every x: the EDM2 loss
        weight(sigma) e^-u |D - x0|^2 + u is minimal at e^u = weight(sigma) E|D - x0|^2 (Eq. 21),
        weight = (sigma^2 + sd^2) / (sigma sd)^2; so the denoiser's mean squared error is e^u / weight."""
        labels = torch.as_tensor(labels)
        out = torch.empty(labels.shape, dtype=torch.float64)
        sd = self.net.sigma_data
        for uncond, net in ((False, self.net), (True, self.gnet)):
            rows = (labels == UNCONDITIONAL) == uncond
            if rows.any():
                if net is None:
                    raise ValueError('UNCONDITIONAL asked of an EDM2 denoiser without an unconditional network')
                with torch.no_grad():
                    c_noise = torch.tensor([math.log(sigma) / 4], device=next(net.parameters()).device)
                    u = float(net.logvar_linear(net.logvar_fourier(c_noise)))
                out[rows] = math.exp(u) * (sigma * sd) ** 2 / (sigma ** 2 + sd ** 2)
        return out
