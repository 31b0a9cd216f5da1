"""One object per track answers what the rules and jobs ask of an experiment or a model (entropic.pipeline.tracks): every
question answered for every subject of the shipped configs, the mixture's guidance study sampling and measuring
its exact mixture, the seeds as the rules derived them, and no rule or script comparing a track's name."""

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from entropic.theory import mixtures, noise
from entropic.studies import sample_metrics
from entropic.files import paths
from entropic.pipeline import tracks
from entropic.pipeline.configuration import derive_seed, validate_config
from entropic.method.denoisers import GMMDenoiser

ROOT = Path(__file__).resolve().parents[1]

RULE_QUESTIONS = ['base_seed', 'curves', 'placing', 'window_settings']
STUDY_QUESTIONS = ['study', 'study_seed', 'study_source', 'study_sampler', 'study_selection', 'study_network',
                   'study_files', 'study_loading', 'study_hypotheses', 'study_measuring', 'study_data',
                   'study_data_seed', 'gpu']


def config(name):
    config = yaml.safe_load((ROOT / name).read_text())
    assert validate_config(config, ROOT) == []
    return config


@pytest.mark.parametrize('name', ['config.yaml', 'config/test.yaml', 'config/edm2-xs.yaml'])
def test_each_track_answers_every_question_for_each_of_its_subjects(name):
    cfg = config(name)
    found = tracks.tracks(cfg, ROOT)
    assert list(found) == [paths.GMM, paths.MODELS]
    studies = {paths.GMM: [cfg['gmm']['guidance_study']['experiment']] if 'guidance_study' in cfg['gmm'] else [],
               paths.MODELS: [model for model, spec in cfg['models'].items() if 'guidance_study' in spec]}
    assert studies[paths.MODELS]
    for folder, track in found.items():
        assert track.folder == folder
        studied = studies[folder]
        for subject in track.names():
            for question in RULE_QUESTIONS:
                getattr(track, question)(subject)
            assert set(track.placing(subject)) <= set(track.curves(subject))
        for subject in studied:
            answers = {question: getattr(track, question)(subject) for question in STUDY_QUESTIONS}
            assert answers['study_source'] in track.curves(subject) and answers['study_source'] in track.placing(subject)
            assert set(answers['study_sampler']) == {'steps', 'sigma_min', 'sigma_max', 'rho'}
            assert answers['gpu'] in (0, 1)


def test_the_mixture_track_studies_experiments_and_the_model_track_models():
    found = tracks.tracks(config('config.yaml'), ROOT)
    assert found[paths.GMM].names() == list(config('config.yaml')['gmm']['experiments'])
    assert found[paths.MODELS].names() == ['digits', 'gmm-net']
    # a model's study samples with the model's own sampler, the mixture's with gmm.guidance_study.sampler, by
    # default the paper's EDM grid
    assert found[paths.MODELS].study_sampler('digits') == config('config.yaml')['models']['digits']['sampler']
    assert found[paths.GMM].study_sampler('k10-d9') == {'steps': 64, 'sigma_min': 0.002, 'sigma_max': 80, 'rho': 7}
    cfg = config('config.yaml')
    cfg['gmm']['guidance_study']['sampler']['steps'] = 32
    assert tracks.tracks(cfg, ROOT)[paths.GMM].study_sampler('k10-d9')['steps'] == 32
    assert 'sampler' not in tracks.tracks(cfg, ROOT)[paths.GMM].study('k10-d9')      # a param of its own


def test_seeds_are_derived_from_the_subjects_own_seed_as_the_rules_derived_them():
    cfg = config('config/test.yaml')
    cfg['gmm']['experiments']['k2-d1e2']['seed'] = 11
    found = tracks.tracks(cfg, ROOT)
    experiments, models = found[paths.GMM], found[paths.MODELS]
    assert experiments.base_seed('k2-d1e2') == 11 and experiments.base_seed('k2-d1e4') == cfg['gmm']['seed']
    assert experiments.study_seed('k2-d1e2', 'tuning') == derive_seed(11, 'k2-d1e2', 'guidance_study', 'tuning')
    assert experiments.window_settings('k2-d1e2')['seed'] == 11       # the experiment's seed itself
    seed = cfg['models']['digits']['seed']
    assert models.study_seed('digits', 'metrics', 'evaluation') == derive_seed(seed, 'digits', 'guidance_study',
                                                                              'metrics', 'evaluation')
    assert models.window_settings('digits')['seed'] == derive_seed(seed, 'digits', 'windows')


@pytest.fixture
def mixture_files(tmp_path):
    mixture = mixtures.simplex_mixture(3, 5, 2.0, np.random.default_rng(0))
    np.save(tmp_path / 'means.npy', mixture.means)
    (tmp_path / 'mixture.json').write_text(json.dumps({'variance': 1.0, 'weights': mixture.weights.tolist()}))
    return mixture, SimpleNamespace(means=str(tmp_path / 'means.npy'), mixture=str(tmp_path / 'mixture.json'))


def test_a_job_of_the_mixture_track_samples_the_exact_denoiser_of_its_mixture(mixture_files):
    mixture, files = mixture_files
    model = tracks.get(paths.GMM).study_model(SimpleNamespace(spec=None, hypotheses=None), files)
    assert isinstance(model.denoiser, GMMDenoiser)
    assert np.array_equal(model.denoiser.means.numpy(), mixture.means) and model.denoiser.variance == mixture.variance
    assert (model.classes, model.shape, model.device) == ([0, 1, 2], (5,), 'cpu')
    assert isinstance(model.schedule, noise.EDMSchedule)


def test_a_job_of_the_mixture_track_measures_the_exact_metrics_the_tuning_set_its_kl_alone(mixture_files):
    mixture, files = mixture_files
    x, labels = mixture.sample(60, np.random.default_rng(1))
    track = tracks.get(paths.GMM)
    everything = track.study_measure(None, files, False, None)(x, labels, 3)
    expected = sample_metrics.replicate_metrics(lambda a, b: sample_metrics.mixture_metrics(mixture, a, b), x, labels, 3)
    assert everything == expected and {'accuracy', 'kl'} <= set(everything)
    assert track.study_measure(None, files, True, None)(x, labels, 3) == {k: v for k, v in expected.items()
                                                                         if k.startswith('kl')}


def test_a_job_of_no_track_is_refused_naming_the_tracks():
    with pytest.raises(ValueError, match="unknown track 'gmms'; tracks: gmm, models"):
        tracks.get('gmms')


def test_no_rule_or_script_compares_a_track_with_a_name():
    files = [ROOT / 'Snakefile', *(ROOT / 'workflow' / 'rules').glob('*.smk'), *(ROOT / 'workflow' / 'scripts').glob('*.py')]
    pattern = re.compile(r'''track\s*[!=]=\s*['"]|['"]\s*[!=]=\s*\w*\.?track\b|\.get\(['"]experiment['"]\)''')
    hits = [f'{p.relative_to(ROOT)}:{i}: {line.strip()}' for p in sorted(files)
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []
