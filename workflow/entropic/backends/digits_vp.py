"""The digits network sampled as a variance-preserving DDPM: the sampler visits the timesteps of the linear beta
schedule of Ho et al. 2020 (arXiv:2006.11239; beta from 1e-4 to 0.02 over 1000 steps, sigma from 0.01 to 157)
and starts from the VP prior N(0, I). The network is the digits backend's, trained inside the DAG on EDM's
continuum of noise levels, so it is defined at every one of them; what changes is where the sampler steps and
where it starts, and with them the tracked curve's levels.

This backend is the worked example of adding a model family: this module, config/digits-vp.yaml and
tests/backends/digits-vp.py, and nothing else.
"""

from entropic.theory import noise
from .digits import DigitsBackend

#----------------------------------------------------------------------------

class DigitsVPBackend(DigitsBackend):
    name = 'digits-vp'
    description = ('the digits network, sampled on the timesteps of the DDPM linear schedule (Ho et al. 2020) from '
                   'the VP prior; of the sampler settings only `steps` applies')

    def load(self, spec, files, hypotheses, device='cpu'):
        model = super().load(spec, files, hypotheses, device)
        model.schedule = noise.DDPMSchedule(noise.ddpm_alphas_cumprod(1000, 1e-4, 0.02, 'linear'), 'leading', 1)
        return model

BACKEND = DigitsVPBackend()
