"""Where the pipeline writes: every path under results/, spelled here and nowhere else.

The rules, the backends and the tools ask this module for a path; a wildcard is passed as its pattern
(`curve(GMM, '{experiment}', 'exact')` is 'results/gmm/{experiment}/entropy/exact.csv'), a name as itself.
An output has one folder per subject of a track: a Gaussian-mixture experiment of the theory track
(results/gmm/<experiment>/) or a model (results/models/<model>/); figures, tables and logs have one
folder each. docs/results.md, section "Where results land", describes what each file holds.
"""

RESULTS = 'results'
GMM = 'gmm'         # the folder of the theory track's experiments: results/gmm/<experiment>/
MODELS = 'models'   # the folder of the models: results/models/<model>/
TRACKS = (GMM, MODELS)

#----------------------------------------------------------------------------
# Either track: results/<track>/<name>/...

def subject(track, name, *parts):
    """A file or folder of one experiment (`track` GMM) or model (`track` MODELS): results/<track>/<name>/<parts>.
    ValueError naming the tracks for another `track` (a wildcard pattern such as '{track}' passes)."""
    if track not in TRACKS and not (track.startswith('{') and track.endswith('}')):
        raise ValueError(f'unknown track {track!r}; tracks: {", ".join(TRACKS)}')
    return '/'.join([RESULTS, track, name, *parts])

def partitions(track, name):
    """The partitions of an experiment or a model, with the speciation scale of each (JSON)."""
    return subject(track, name, 'partitions.json')

def curve(track, name, estimator, ext='csv'):
    """One estimator's (or run's) entropy curve of every partition: the tidy CSV, or with `ext` 'npz' the
    curve's bootstrap samples, which the window fits resample."""
    return subject(track, name, 'entropy', f'{estimator}.{ext}')

def windows(track, name, estimator):
    """The fitted speciation windows of one estimator's (or run's) curves (CSV)."""
    return subject(track, name, 'windows', f'{estimator}.csv')

def placing(track, name, estimator, partition, kind):
    """The rows of one partition of one estimator's (or run's) `kind` table ('windows' or 'entropy', the curve),
    copied for what that partition's window places (CSV): a placed run, a guidance study, a schedule study."""
    return subject(track, name, 'placing', estimator, f'{partition}-{kind}.csv')

def study(track, name, which, ext):
    """A guidance study's set `which` ('tuning' or 'evaluation'): its samples ('npz') or its metrics ('csv')."""
    return subject(track, name, 'guidance_study', f'{which}.{ext}')

def schedules(track, name):
    """The schedule study's tidy rows of an experiment or a model (CSV)."""
    return subject(track, name, 'schedules.csv')

#----------------------------------------------------------------------------
# The theory track: results/gmm/<experiment>/...

def mixture(experiment):
    """{'means': the component means (NPY), 'mixture': the variance, weights and sizes (JSON)}: what loads an
    experiment's mixture (entropic.theory.mixtures.load_mixture)."""
    return {'means': subject(GMM, experiment, 'means.npy'), 'mixture': subject(GMM, experiment, 'mixture.json')}

#----------------------------------------------------------------------------
# The models: results/models/<model>/...

def checkpoint(model):
    """The network trained inside the DAG (PyTorch checkpoint)."""
    return subject(MODELS, model, 'checkpoint.pt')

def losses(model):
    """The training loss of that network, per step (CSV)."""
    return subject(MODELS, model, 'training.csv')

def shard(model, run, index):
    """One shard of one run's tracked trajectories (NPZ)."""
    return subject(MODELS, model, 'trajectories', run, f'shard-{index}.npz')

def samples(model, run):
    """The final samples of one run, with their labels (NPZ)."""
    return subject(MODELS, model, 'samples', f'{run}.npz')

def quality(model):
    """The quality of every run's samples (CSV)."""
    return subject(MODELS, model, 'quality.csv')

def images(model):
    """A model's samples and x0 estimates decoded to images for its figures (NPZ)."""
    return subject(MODELS, model, 'images.npz')

def clone_agreement(model):
    """Biroli et al.'s cloning experiment on the model's network (CSV)."""
    return subject(MODELS, model, 'clone_agreement.csv')

#----------------------------------------------------------------------------
# Figures, tables, the effective config, logs

FIGURE_FORMATS = ('pdf', 'png')
TABLE_FORMATS = ('csv', 'md')

def figure(name, ext):
    """A figure in one format ('pdf' or 'png')."""
    return f'{RESULTS}/figures/{name}.{ext}'

def table(name, ext):
    """A table in one format ('csv' or 'md')."""
    return f'{RESULTS}/tables/{name}.{ext}'

def figures(name):
    """[PDF, PNG] of one figure."""
    return [figure(name, ext) for ext in FIGURE_FORMATS]

def tables(name):
    """[CSV, Markdown] of one table."""
    return [table(name, ext) for ext in TABLE_FORMATS]

def effective_config():
    """The config a run used, every default filled in (YAML)."""
    return f'{RESULTS}/config.yaml'

def log(rule, *names):
    """The log of a job of `rule`: results/logs/<rule>.log for a rule with one job, else
    results/logs/<rule>/<names joined by '-'>.log."""
    return f'{RESULTS}/logs/{rule}/{"-".join(names)}.log' if names else f'{RESULTS}/logs/{rule}.log'
