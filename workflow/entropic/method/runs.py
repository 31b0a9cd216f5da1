"""One definition of a sampling run: its guidance, where the guidance acts, and what its curve reads out.

A run is a config entry of `models.<name>.runs` (or a variant of the Gaussian-mixture tracker) with a
guidance scale w (`guidance`, 1 = none), optionally a limited interval (`guidance_interval`,
Kynkäänniemi et al. 2024, arXiv:2404.07724) or a placement by another run's entropy window
(`guidance_placement`, entropic.method.placement). Guided trajectories are not drawn from the model's joint,
so their tracked posterior entropy is a cross-entropy (Handke et al. 2026, arXiv:2602.09651, section 2.1).
Every rule, script, figure and config check asks a `Run` (Run.from_config) rather than reading these keys;
the tracker's variants too (entropic.studies.mixture_estimators.track_variant).
"""

import dataclasses
import math

# placement and the sampler (torch) are imported by Run.guidance, where a Guidance is built: a job that reads
# a run's readout or source alone does not pay torch's import (about 1.4 s).

#----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Run:
    name:         str
    scale:        float = 1.0       # w; 1: no guidance
    interval:     tuple = None      # (sigma_lo, sigma_hi]: guidance acts only there; None: everywhere
    placement:    dict = None       # guidance placed by another run's window or rate (guidance_placement)
    trajectories: int = None        # this run's trajectories; None: the model's

    @classmethod
    def from_config(cls, name, entry):
        """From a run's config entry (keys guidance, guidance_interval, guidance_placement, trajectories)."""
        interval = entry.get('guidance_interval')
        return cls(name=name, scale=float(entry.get('guidance', 1.0)),
                   interval=tuple(float(s) for s in interval) if interval else None,
                   placement=entry.get('guidance_placement'), trajectories=entry.get('trajectories'))

    @property
    def guided(self):
        """Whether the sampler guides anywhere (w != 1)."""
        return self.scale != 1

    @property
    def readout(self):
        """'entropy' for the model's own joint, 'cross-entropy' for guided trajectories."""
        return 'cross-entropy' if self.guided else 'entropy'

    @property
    def everywhere(self):
        """Guided at every noise level (plain classifier-free guidance, Ho & Salimans 2022, arXiv:2207.12598)."""
        return self.guided and self.interval is None and self.placement is None

    @property
    def source(self):
        """The run whose window places this run's guidance, or None."""
        return self.placement['source'] if self.guided and self.placement else None

    def guidance(self, windows=None, curve=None, where='the source run'):
        """The sampler.Guidance of this run; a placed run needs its source run's window fits and curve
        (pandas frames) and `where` names them in errors."""
        from entropic.method import placement as placing
        from entropic.method.sampler import Guidance

        if self.source is not None:
            return placing.placed_guidance(self.scale, self.placement, windows, curve, source=where)
        lo, hi = self.interval or (0.0, math.inf)
        return Guidance(scale=self.scale, sigma_lo=lo, sigma_hi=hi)

    def describe(self):
        """Where the guidance acts, for tables and legends: nowhere, everywhere, its interval or its placement."""
        if self.source is None:
            return self.guidance().describe()
        what = 'dH/dlog σ' if self.placement.get('weight', 'window') == 'rate' else 'window'
        widen = f" x{self.placement['widen']:g}" if self.placement.get('widen', 1.0) != 1.0 else ''
        return f"placed by the {self.source} run's {self.placement.get('partition', 'classes')} {what}{widen}"

def model_runs(spec):
    """{name: Run} of a model entry, in config order."""
    return {name: Run.from_config(name, entry) for name, entry in spec['runs'].items()}

def shown_runs(runs):
    """The runs a sample figure shows: 'unguided', and the strongest guidance applied at every noise level."""
    everywhere = sorted((r for r in runs.values() if r.everywhere), key=lambda r: (r.scale, r.name))   # ties: by name
    return ['unguided'] + [r.name for r in everywhere[-1:]]
