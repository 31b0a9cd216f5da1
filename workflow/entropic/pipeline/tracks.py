"""The two tracks of the pipeline, one object each: what the rules and the jobs ask of an experiment or a model.

The theory track's subjects are the Gaussian-mixture experiments (results/gmm/<experiment>/), sampled with
their mixture's exact denoiser; the models' track has the models (results/models/<model>/), sampled with the
network their backend loads (entropic.backends). A rule asks for an experiment's or a model's curves, seeds,
window settings or guidance study, a guidance-study job for its sampler and metrics, and each track answers
for its own subjects: no rule, script or config default compares a track's name. `tracks(config, root)` gives
both, by their folder under results/ (entropic.files.paths.GMM, entropic.files.paths.MODELS, the `{track}` wildcard);
`get(folder)` gives one to a job, which asks only what its params and input files answer.

Seeds are derived from a subject's own seed (an experiment's or the track's `gmm.seed`, a model's `seed`),
its name and the purpose (entropic.pipeline.configuration.derive_seed), as the rules always derived them.
"""

from entropic import backends
from entropic.files import paths
from entropic.pipeline.configuration import derive_seed
from entropic.pipeline.provenance import recorded
from entropic.method.runs import model_runs

#----------------------------------------------------------------------------

class Track:
    """One track: its subjects' curves, seeds and window fits, and their guidance study. Made with the validated
    config (`config`) and the project folder (`root`) for the rules; made without them (`get`) for a job, which
    asks only `study_model` and `study_measure`."""

    folder = None       # its folder under results/ and the value of the {track} wildcard (entropic.files.paths)

    def __init__(self, config=None, root=None):
        self.config, self.root = config, root

    def names(self):
        """Its subjects' names, in config order."""
        raise NotImplementedError

    def base_seed(self, name):
        """The seed a subject's config gives it."""
        raise NotImplementedError

    def seed(self, name, *keys):
        """The seed of one purpose (`keys`) of a subject, derived from its base seed and its name."""
        return derive_seed(self.base_seed(name), name, *keys)

    # Curves and window fits ----------------------------------------------------------------------------

    def curves(self, name):
        """The estimator or run names of a subject's entropy curves (each a window fit)."""
        raise NotImplementedError

    def placing(self, name):
        """The set of a subject's curves whose window places guidance elsewhere (fit in a job of their own,
        entropic.pipeline.targets.speciation_jobs)."""
        raise NotImplementedError

    def window_settings(self, name):
        """{'bootstrap', 'seed'} of a subject's window fits."""
        raise NotImplementedError

    # Guidance study (rules) ----------------------------------------------------------------------------

    def study(self, name):
        """The settings of a subject's guidance study, its sampler aside (`study_sampler`)."""
        raise NotImplementedError

    def study_seed(self, name, *keys):
        """A seed of a subject's guidance study."""
        return self.seed(name, 'guidance_study', *keys)

    def study_source(self, name):
        """The curve whose window places the study's guidance."""
        raise NotImplementedError

    def study_sampler(self, name):
        """The sampler settings the study samples with (the EDM grid's steps, sigma_min, sigma_max, rho)."""
        raise NotImplementedError

    def study_selection(self, name):
        """The metric the tuning set's interval search minimises."""
        raise NotImplementedError

    def study_network(self, name):
        """{name: path} of what the study samples from (a sampling job's inputs beside the source's curves)."""
        raise NotImplementedError

    def study_files(self, name):
        """{name: path or [paths]} of what the study's metrics read."""
        raise NotImplementedError

    def study_loading(self, name):
        """What a sampling job loads the subject with (its param `spec`), or None where its files say all."""
        return None

    def study_hypotheses(self, name):
        """{label: name} the sampling job conditions on (its param `hypotheses`), or None where its files say."""
        return None

    def study_measuring(self, name):
        """What a metrics job measures with (its param `spec`), or None where its files say all."""
        return None

    def study_data(self, name):
        """The config keys of the data a metrics job compares with (its param `data`), or None."""
        return None

    def study_data_seed(self, name):
        """The seed of that data (the metrics job's param `data_seed`), or None."""
        return None

    def gpu(self, name):
        """The GPU resource of a subject's sampling and metric jobs (profiles/slurm): 0 or 1."""
        return 0

    # Guidance study (jobs) -----------------------------------------------------------------------------

    def study_model(self, params, files):
        """The entropic.backends.Model a guidance study samples (denoiser, classes, shape, schedule, device), from
        the sampling job's params and input files."""
        raise NotImplementedError

    def study_measure(self, params, files, tuning, log):
        """measure(x, labels, folds) -> {metric, metric_lo, metric_hi} of one method's samples, from the metrics
        job's params and input files; on the tuning set (`tuning`) the interval search's metric alone."""
        raise NotImplementedError

#----------------------------------------------------------------------------

class MixtureTrack(Track):
    """The theory track: Gaussian-mixture experiments (the config's `gmm` section), their exact curves and the
    tracker and I-MMSE estimates of them; its guidance study samples the mixture's exact denoiser and measures
    exact class accuracy and KL (entropic.studies.sample_metrics.mixture_metrics)."""

    folder = paths.GMM
    metric = 'kl'       # the exact KL to the true components: what the interval search minimises

    @property
    def gmm(self):
        return self.config['gmm']

    def names(self):
        return list(self.gmm['experiments'])

    def base_seed(self, name):
        """The experiment's own seed, or the track's."""
        return self.gmm['experiments'][name].get('seed', self.gmm['seed'])

    def curves(self, name):
        """exact, every tracker variant it is listed for, immse where it is listed for it."""
        names = ['exact']
        if name in self.gmm['track']['experiments']:
            names += list(self.gmm['track']['variants'])
        if name in self.gmm['immse']['experiments']:
            names.append('immse')
        return names

    def placing(self, name):
        """Its exact curve where the guidance study runs on it."""
        return {'exact'} if self.gmm.get('guidance_study', {}).get('experiment') == name else set()

    def window_settings(self, name):
        return recorded(dict(bootstrap=self.gmm['bootstrap'], seed=self.base_seed(name)))

    def study(self, name):
        return recorded({key: value for key, value in self.gmm['guidance_study'].items() if key != 'sampler'})

    def study_source(self, name):
        return 'exact'

    def study_sampler(self, name):
        """gmm.guidance_study.sampler (the schema's default: the paper's EDM grid)."""
        return self.gmm['guidance_study']['sampler']

    def study_selection(self, name):
        return self.metric

    def study_network(self, name):
        return paths.mixture(name)

    def study_files(self, name):
        return paths.mixture(name)

    def study_model(self, params, files):
        from entropic.theory import mixtures, noise
        from entropic.files import store
        from entropic.method.denoisers import GMMDenoiser
        mixture = mixtures.load_mixture(files.means, store.read_json(files.mixture))
        return backends.Model(GMMDenoiser(mixture), list(range(mixture.num_components)), (mixture.dim,),
                              noise.EDMSchedule(), 'cpu')

    def study_measure(self, params, files, tuning, log):
        from entropic.theory import mixtures
        from entropic.studies import sample_metrics
        from entropic.files import store
        mixture = mixtures.load_mixture(files.means, store.read_json(files.mixture))
        wanted = sample_metrics.only(lambda x, labels: sample_metrics.mixture_metrics(mixture, x, labels),
                                     [self.metric] if tuning else None)
        return lambda x, labels, folds: sample_metrics.replicate_metrics(wanted, x, labels, folds)

#----------------------------------------------------------------------------

class ModelTrack(Track):
    """The models (the config's `models` section): each sampled with the network its backend loads, its curves
    the runs' and its exact references; its guidance study measures as its backend does."""

    folder = paths.MODELS

    def __init__(self, config=None, root=None):
        super().__init__(config, root)
        models = config['models'] if config is not None else {}
        self.models = models
        self.backend = {model: backends.get(spec['backend']) for model, spec in models.items()}
        self.runs = {model: model_runs(spec) for model, spec in models.items()}
        # The hypotheses in play of every model, {label: name}: what its sampling jobs condition on (read once).
        self.hypotheses = {model: recorded(self.backend[model].hypotheses(spec, config, root))
                           for model, spec in models.items()}

    def names(self):
        return list(self.models)

    def base_seed(self, name):
        return self.models[name]['seed']

    def loading(self, name):
        """The model keys its sampling jobs load it with, with its backend."""
        spec = self.models[name]
        return recorded({'backend': spec['backend'], **{k: spec[k] for k in self.backend[name].load_keys}})

    def data(self, name):
        """The model keys its training data depend on (what the data-dependent rules depend on), with its backend."""
        spec = self.models[name]
        return recorded({'backend': spec['backend'], **{k: spec[k] for k in self.backend[name].data_keys}})

    def network_files(self, name, run):
        """The network files of one run of a model (its backend's)."""
        return self.backend[name].network_files(name, self.models[name], run)

    def references(self, name):
        """The exact curves a model is compared with: its reference, and the tracker run with the exact denoiser of
        its data (which separates the network's error from the tracker's bias) where its backend has one."""
        backend = self.backend[name]
        return ([backend.reference] if backend.reference else []) + (['exact-denoiser'] if backend.exact_tracker else [])

    def curves(self, name):
        """Its runs and its references."""
        return list(self.models[name]['runs']) + self.references(name)

    def placing(self, name):
        """A placed run's source, and its guidance study's."""
        spec = self.models[name]
        placing = {run.source for run in self.runs[name].values() if run.source}
        return placing | ({spec['guidance_study']['source']} if 'guidance_study' in spec else set())

    def window_settings(self, name):
        return recorded(dict(bootstrap=self.models[name]['bootstrap'], seed=self.seed(name, 'windows')))

    def study(self, name):
        return self.models[name]['guidance_study']

    def study_source(self, name):
        return self.models[name]['guidance_study']['source']

    def study_sampler(self, name):
        """The model's own sampler."""
        return self.models[name]['sampler']

    def study_selection(self, name):
        return self.backend[name].study_metric

    def study_network(self, name):
        return dict(self.network_files(name, self.study_source(name)))

    def study_files(self, name):
        return self.backend[name].study_files(self.models[name], self.config)

    def study_loading(self, name):
        return self.loading(name)

    def study_hypotheses(self, name):
        return self.hypotheses[name]

    def study_measuring(self, name):
        return recorded({**self.loading(name), 'guidance_study': self.models[name]['guidance_study']})

    def study_data(self, name):
        return self.data(name)

    def study_data_seed(self, name):
        return self.seed(name, 'data')

    def gpu(self, name):
        return int(self.backend[name].gpu)

    def study_model(self, params, files):
        backend = backends.get(params.spec['backend'])
        return backend.load(params.spec, files, params.hypotheses, backend.device())

    def study_measure(self, params, files, tuning, log):
        backend = backends.get(params.spec['backend'])
        training = backend.training_data(params.data, files, params.data_seed) if backend.trains else None
        return backend.study_metrics(params.spec, files, training, params.seed, log,
                                     metrics=[backend.study_metric] if tuning else None)

#----------------------------------------------------------------------------

TRACKS = (MixtureTrack, ModelTrack)

def tracks(config, root):
    """{folder: Track} of both tracks for the rules, from the validated config and the project folder."""
    return {track.folder: track(config, root) for track in TRACKS}

def get(folder):
    """The track of `folder` (the {track} wildcard) for a job; ValueError naming the tracks."""
    for track in TRACKS:
        if track.folder == folder:
            return track()
    raise ValueError(f'unknown track {folder!r}; tracks: {", ".join(t.folder for t in TRACKS)}')
