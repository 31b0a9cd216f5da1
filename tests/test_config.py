"""Config validation: the default config is valid; every bad key is named in a one-line error."""

import copy
from pathlib import Path

import pytest
import yaml

from entropic import backends
from entropic.pipeline.configuration import validate_config
from tests.support.snakemake_cli import TEST_CONFIG, snakemake

pytestmark = pytest.mark.schedule(7)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / 'config.yaml').read_text())


def errors_for(mutate):
    config = copy.deepcopy(DEFAULT)
    mutate(config)
    return validate_config(config, root=ROOT)


def test_default_and_test_configs_are_valid_and_get_defaults():
    for path in ('config.yaml', 'config/test.yaml'):
        config = yaml.safe_load((ROOT / path).read_text())
        assert validate_config(config, root=ROOT) == []
        assert config['gmm']['experiments']['k2-d1e2' if 'test' in path else 'k2-d1e1']['variance'] == 1.0
    empty = {}
    assert validate_config(empty, root=ROOT) == []
    assert empty['gmm']['grid']['levels'] == 64 and empty['gmm']['exact']['points'] == 512


@pytest.mark.parametrize('mutate, expected', [
    (lambda c: c.update(gmn={}), ["config key <top level>: unknown key(s) 'gmn'", 'allowed keys: gmm']),
    (lambda c: c['gmm'].update(sed=1), ["config key gmm: unknown key(s) 'sed'", 'seed']),
    (lambda c: c['gmm']['experiments']['k2-d1e1'].update(dims=3), ["gmm.experiments.k2-d1e1: unknown key(s) 'dims'", 'dim']),
    (lambda c: c['gmm']['experiments']['k2-d1e1'].update(dim='ten'), ["gmm.experiments.k2-d1e1.dim", "not of type 'integer'"]),
    (lambda c: c['gmm']['experiments']['k2-d1e1'].update(variance=-1), ['gmm.experiments.k2-d1e1.variance', 'less than or equal to the minimum of 0']),
    (lambda c: c['gmm']['grid'].update(levels=2), ['gmm.grid.levels', 'less than the minimum of 8']),
    (lambda c: c['gmm']['exact'].update(points=100), ['gmm.exact.points', '100 is not one of [64, 128']),
    (lambda c: c['gmm']['experiments']['k2-d1e1'].pop('signal_per_dim'), ['gmm.experiments.k2-d1e1', "'signal_per_dim' is a required property"]),
    (lambda c: c['gmm']['experiments']['k10-d1e4']['partitions'].update(bad=[[0], [10]]), ['config key gmm.experiments.k10-d1e4.partitions.bad: unknown member 10; hypotheses are 0..9']),
    (lambda c: c['gmm']['experiments']['k10-d1e4']['partitions'].update(dup=[[0, 1], [1]]), ['gmm.experiments.k10-d1e4.partitions.dup', 'more than one cell']),
    (lambda c: c['gmm']['experiments']['k10-d1e4']['partitions'].update(ref=[[0, 1], [-1]]), ['gmm.experiments.k10-d1e4.partitions.ref: a partition with the unconditional reference (-1) must be [[k], [-1]]']),
    (lambda c: c['gmm']['experiments']['k2-d1e1'].update(weights=[0.5, 0.2]), ['gmm.experiments.k2-d1e1.weights', 'summing to 1']),
    (lambda c: c['gmm']['experiments']['k10-d1e4'].update(dim=5), ['gmm.experiments.k10-d1e4.dim', 'dim >= 9']),
    (lambda c: c['gmm']['figures'].update(dimension_sweep=['nope']), ['gmm.figures.dimension_sweep', "unknown experiment 'nope'"]),
    (lambda c: c['gmm']['figures'].update(hierarchy='k2-d1e1'), ['gmm.figures.hierarchy', 'not a hierarchical experiment']),
    (lambda c: c['gmm']['experiments'].update({'bad/name': {'dim': 3, 'signal_per_dim': 1.0}}), ["gmm.experiments: 'bad/name' does not match"]),
    (lambda c: c['gmm']['track']['variants']['track-cfg4-interval'].update(guidance_interval=[80.0, 20.0]),
     ['gmm.track.variants.track-cfg4-interval.guidance_interval: need sigma_lo < sigma_hi']),
    (lambda c: c['gmm']['track']['variants']['track-cfg2'].update(estimate='combined'),
     ['gmm.track.variants.track-cfg2.estimate: combined needs unguided sampling']),
    (lambda c: c['gmm']['track']['variants']['track-exact'].update(estimate='combined', sampler_variance='sampler'),
     ["gmm.track.variants.track-exact.estimate: combined needs the same kernel variance for tracking and sampling (kernel 'exact', sampler_variance 'sampler')"]),
    (lambda c: c['gmm']['track']['variants']['track'].update(kernel='approximate'), ["gmm.track.variants.track.kernel", "'approximate' is not one of ['sampler', 'exact']"]),
    (lambda c: c['gmm']['track']['variants'].update({'cfg': {}}), ["gmm.track.variants: 'cfg' does not match"]),
    (lambda c: c['gmm']['track'].update(experiments=['k10']), ["gmm.track.experiments: unknown experiment 'k10'"]),
    (lambda c: c['gmm']['tracker_bias'].update(experiment='nope'), ["gmm.tracker_bias.experiment: unknown experiment 'nope'"]),
    (lambda c: c['gmm']['figures'].update(estimators=[['k10-d1e4', 'superclasses']]), ["experiment 'k10-d1e4' has no partition 'superclasses'"]),
    (lambda c: c['gmm']['figures'].update(guidance='k2-d1e1'), ['gmm.figures.guidance: the experiment must be in gmm.track.experiments']),
    (lambda c: c['models']['digits'].update(trajectorys=10), ["config key models.digits: unknown key(s) 'trajectorys'", 'trajectories']),
    (lambda c: c['models']['digits'].update(backend='mnist'), ['models.digits.backend', f"'mnist' is not one of {list(backends.registry())}"]),
    (lambda c: c['models']['gmm-net'].update(experiment='nope'), ["models.gmm-net.experiment: unknown experiment 'nope'"]),
    (lambda c: c['models']['digits'].update(sampler={'sigma_min': -0.1}), ['models.digits.sampler.sigma_min', 'less than or equal to the minimum of 0']),
    (lambda c: c['models']['digits'].update(sampler={'rho': 0}), ['models.digits.sampler.rho', 'less than or equal to the minimum of 0']),
    (lambda c: c['models']['digits'].update(sampler={'sigma_min': 100.0}), ['models.digits.sampler: need sigma_min < sigma_max, got 100.0 and 80']),
    (lambda c: c['models']['digits'].update(shards=600), ['models.digits.shards: 600 shards for 550 trajectories (run cfg2)']),
    (lambda c: c['models']['digits']['runs']['cfg4-window'].update(guidance_interval=[2.0, 0.5]),
     ['models.digits.runs.cfg4-window.guidance_interval: need sigma_lo < sigma_hi']),
    (lambda c: c['models']['digits']['runs'].pop('unguided'), ["models.digits.runs: needs a run named 'unguided'"]),
    (lambda c: c['models']['digits']['runs'].update(empirical={}), ['models.digits.runs.empirical: the name is reserved']),
    (lambda c: c['models']['digits'].update(partitions='config/partitions/nope.yaml'), ["models.digits.partitions: no file 'config/partitions/nope.yaml'"]),
    (lambda c: c['models']['digits'].pop('partitions'), ["models.digits: 'partitions' is a required property"]),
    (lambda c: c['models']['digits'].update(net='edm2-img512-xs-2147483-0.045.pkl'), ["models.digits: net do not apply to the 'digits' backend"]),
    (lambda c: c['models']['digits']['runs']['cfg2'].update(gnet='edm2-img512-xs-uncond-2147483-0.045.pkl'),
     ["models.digits.runs.cfg2: gnet do not apply to the 'digits' backend"]),
    (lambda c: c['models'].update(xs=dict(backend='edm2', net='edm2-img512-xs-2147483-0.045.pkl', partitions='config/partitions/imagenet.yaml')),
     ["models.xs: 'gnet' is a required property"]),
    (lambda c: c['models'].update(xs=dict(backend='edm2', net='edm2-img512-xs-uncond-2147483-0.045.pkl',
                                          gnet='edm2-img512-xs-uncond-2147483-0.045.pkl', partitions='config/partitions/imagenet.yaml')),
     ['models.xs.net', 'does not match']),
    (lambda c: c['models'].update(xs=dict(backend='edm2', net='edm2-img512-xs-2147483-0.045.pkl', training={'steps': 5},
                                          gnet='edm2-img512-xs-uncond-2147483-0.045.pkl', partitions='config/partitions/imagenet.yaml')),
     ["models.xs: training do not apply to the 'edm2' backend"]),
    (lambda c: c['models'].update(sd=dict(backend='sd15')), ["models.sd: 'prompts' is a required property"]),
    (lambda c: c['models'].update(sd=dict(backend='sd15', prompts='config/prompts/nope.yaml')),
     ["models.sd.prompts: no file 'config/prompts/nope.yaml'"]),
    (lambda c: c['models'].update(sd=dict(backend='sd15', prompts='config/prompts/sd15.yaml', sampler={'steps': 1000})),
     ['models.sd.sampler.steps: SD1.5 has 1000 timesteps']),
    (lambda c: c['models'].update(sd=dict(backend='sd15', prompts='config/prompts/sd15.yaml',
                                          partitions='config/partitions/digits.yaml')),
     ["models.sd: partitions do not apply to the 'sd15' backend"]),
    (lambda c: c['models'].update(xs=dict(backend='edm2', net='edm2-img512-xs-2147483-0.045.pkl',
                                          gnet='edm2-img512-xs-uncond-2147483-0.045.pkl', partitions='config/partitions/imagenet.yaml',
                                          guidance_study={'scale': 2.0, 'scales': [2.0]})),
     ["models.xs.guidance_study.statistics: required for the 'edm2' backend"]),
    (lambda c: c['models']['digits']['guidance_study'].update(statistics='resources/dataset-refs/img512.pkl'),
     ["models.digits.guidance_study.statistics: the 'digits' backend measures its samples without reference statistics"]),
    # the mixture's study has a sampler of its own (its exact denoiser has none); a model's samples with the model's
    (lambda c: c['gmm']['guidance_study'].update(sampler={'sigma_min': 100.0}), ['gmm.guidance_study.sampler: need sigma_min < sigma_max, got 100.0 and 80']),
    (lambda c: c['models']['digits']['guidance_study'].update(sampler={}), ["models.digits.guidance_study: unknown key(s) 'sampler'"]),
    (lambda c: c['gmm']['figures'].update(clone_agreement=['nope']), ["gmm.figures.clone_agreement: unknown experiment 'nope'"]),
    (lambda c: c['gmm']['figures'].update(clone_agreement=['k10-d1e4']),
     ["gmm.figures.clone_agreement: 'k10-d1e4' is not Biroli et al.'s mixture"]),
    (lambda c: c['gmm']['experiments']['k2-d256'].update(variance=2.0),
     ["gmm.figures.clone_agreement: 'k2-d256' is not Biroli et al.'s mixture"]),
    (lambda c: c['gmm']['flow_shift'].update(resolutions=[256, 1020]),
     ['gmm.flow_shift.resolutions: [1020] not multiples of gmm.flow_shift.downsampling (8)']),
    (lambda c: c['gmm']['flow_shift'].update(shift=0), ['gmm.flow_shift.shift', 'less than or equal to the minimum of 0']),
    (lambda c: c['gmm']['schedule_study'].update(experiments=['k2-nope']),
     ["gmm.schedule_study.experiments: unknown experiment 'k2-nope'"]),
    (lambda c: c['gmm']['schedule_study'].update(sigma_min=100.0), ['gmm.schedule_study: need sigma_min < sigma_max']),
    (lambda c: c['gmm']['schedule_study'].update(solvers=['rk4']), ['gmm.schedule_study.solvers', "'rk4' is not one of"]),
    (lambda c: c['gmm']['schedule_study'].update(nfe=[2]), ['gmm.schedule_study.nfe', 'less than the minimum of 3']),
    (lambda c: c['models']['digits']['schedule_study'].update(source='cfg2'),
     ["models.digits.schedule_study.source: 'cfg2' is not an unguided run of the model"]),
    (lambda c: c['models'].update(xs=dict(backend='edm2', net='edm2-img512-xs-2147483-0.045.pkl', schedule_study={},
                                          gnet='edm2-img512-xs-uncond-2147483-0.045.pkl', partitions='config/partitions/imagenet.yaml')),
     ["models.xs.schedule_study: 'statistics' is a required property"]),
    (lambda c: c['models'].update(xs=dict(backend='sd15', schedule_study={})),
     ["models.xs: schedule_study do not apply to the 'sd15' backend"]),
    (lambda c: c['models']['digits']['cloning'].update(levels=[0.5, 200.0]),
     ["models.digits.cloning.levels: [200.0] lie outside the sampler's range [0.002, 80]"]),
    (lambda c: c['models']['digits']['cloning'].update(pairs=1), ['models.digits.cloning.pairs', 'less than the minimum of 10']),
    (lambda c: c['models'].update(xs=dict(backend='edm2', net='edm2-img512-xs-2147483-0.045.pkl', cloning={},
                                          gnet='edm2-img512-xs-uncond-2147483-0.045.pkl', partitions='config/partitions/imagenet.yaml')),
     ["models.xs: cloning do not apply to the 'edm2' backend"]),
])
def test_bad_config_names_the_key(mutate, expected):
    errors = errors_for(mutate)
    assert errors, 'the bad config was accepted'
    joined = '\n'.join(errors)
    for fragment in expected:
        assert fragment in joined, joined
    assert all('\n' not in e for e in errors)


@pytest.mark.slow
def test_snakemake_stops_on_bad_config_without_traceback(tmp_path):
    config = copy.deepcopy(DEFAULT)
    config['gmm']['experiments']['k2-d1e1']['sigal_per_dim'] = 1.0
    path = tmp_path / 'bad.yaml'
    path.write_text(yaml.safe_dump(config))
    run = snakemake(tmp_path, '-n', configfiles=[path])
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "gmm.experiments.k2-d1e1: unknown key(s) 'sigal_per_dim'" in output
    assert 'Traceback' not in output
    assert not (tmp_path / 'results').exists()


def test_a_bad_partition_file_is_named_with_its_partition(tmp_path):
    bad = tmp_path / 'partitions.yaml'
    bad.write_text('loops: [[0, 6], [8, 10]]\n')
    errors = errors_for(lambda c: c['models']['digits'].update(partitions=str(bad)))
    assert errors == [f"config key models.digits.partitions: {bad}: partition 'loops': unknown member 10; hypotheses are 0..9"]


@pytest.mark.slow
def test_a_config_with_models_alone_plans_no_theory_track_and_an_empty_one_says_so(tmp_path):
    """`all` is what the config asks for: without a gmm section no mixture table is planned (its job would have
    no input), and a config with nothing to build stops on one line that says so."""
    only_models = {'models': {'digits': DEFAULT['models']['digits']}}
    (tmp_path / 'models.yaml').write_text(yaml.safe_dump(only_models))
    run = snakemake(tmp_path, '-n', configfiles=[tmp_path / 'models.yaml'])
    assert run.returncode == 0, run.stderr[-3000:]
    assert '\nmodel_train ' in run.stdout and 'gmm' not in run.stdout
    (tmp_path / 'empty.yaml').write_text('models: {}\n')
    run = snakemake(tmp_path, '-n', configfiles=[tmp_path / 'empty.yaml'])
    output = run.stdout + run.stderr
    assert run.returncode != 0 and 'the config asks for nothing to build' in output and 'Traceback' not in output
    assert not (tmp_path / 'results').exists()


def test_a_guidance_study_a_backend_cannot_measure_is_refused_naming_the_figure(monkeypatch):
    monkeypatch.setattr(backends.get('digits'), 'study_metric', None)
    errors = errors_for(lambda c: None)
    assert errors == ["config key models.digits.guidance_study: the 'digits' backend cannot feed the "
                      'digits_guidance_study figure: it has no guidance-study metrics (Backend.study_metric, '
                      'study_metrics); remove the key']


@pytest.mark.slow
@pytest.mark.parametrize('configs, jobs', [
    (['config/edm2-xs.yaml'], ['download', 'guidance_study_metrics', 'model_schedule_study']),
    (['config/sd15.yaml', 'config/sd15-study.yaml'], ['reference_statistics', 'download', 'guidance_study_metrics']),
])
def test_gpu_configs_plan_their_runs_and_guidance_study(tmp_path, configs, jobs):
    """The GPU configs are valid and their DAG builds, downloads and the FID / FD-DINOv2 study included (SD1.5's
    reference images are the user's: an empty folder stands in for them)."""
    (tmp_path / 'resources' / 'reference' / 'sd15-prompts').mkdir(parents=True)
    run = snakemake(tmp_path, '-n', configfiles=[ROOT / c for c in configs])
    assert run.returncode == 0, run.stderr[-3000:]
    for job in jobs + ['fig_guidance_study', 'model_trajectories']:
        assert f'\n{job} ' in run.stdout, job


# One override of every kind of schema type: integers, a number YAML 1.1 reads as a string (1e-3), an enum of
# integers, a list of numbers; `shards` changes the DAG, so the dry run shows that the value took effect.
OVERRIDES = {'models': '{digits: {trajectories: 330, shards: 3, training: {learning_rate: 1e-3}}}',
             'gmm': '{exact: {points: 256}, track: {variants: {track-cfg3: {guidance_interval: [2, 20.5]}}}}'}


def snakemake_with(tmp_path, way, *args):
    """Snakemake on config/test.yaml with OVERRIDES set one documented way: a second config file, `--config`,
    or a profile's `config:`."""
    configfiles = [TEST_CONFIG]
    if way == 'configfile':
        (tmp_path / 'override.yaml').write_text(''.join(f'{k}: {v}\n' for k, v in OVERRIDES.items()))
        configfiles.append(tmp_path / 'override.yaml')
    elif way == '--config':
        args += ('--config', *[f'{k}={v}' for k, v in OVERRIDES.items()])
    else:
        (tmp_path / 'profile').mkdir(exist_ok=True)
        (tmp_path / 'profile' / 'config.yaml').write_text(
            'config:\n' + ''.join(f'  {k}: {v}\n' for k, v in OVERRIDES.items()))
        args += ('--profile', tmp_path / 'profile')
    return snakemake(tmp_path, *args, configfiles=configfiles)


@pytest.mark.slow
@pytest.mark.parametrize('way', ['configfile', '--config', 'profile'])
def test_every_way_of_setting_the_config_gives_the_same_typed_values(tmp_path, way):
    dry = snakemake_with(tmp_path, way, '-n')
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert dry.stdout.count('\nrule model_trajectories:') == 3 * 3 + 1       # 3 digits runs x 3 shards, 1 gmm-net
    run = snakemake_with(tmp_path, way, 'results/config.yaml')
    assert run.returncode == 0, run.stderr[-3000:]
    effective = yaml.safe_load((tmp_path / 'results' / 'config.yaml').read_text())
    digits = effective['models']['digits']
    assert (digits['trajectories'], digits['shards'], digits['training']) == (330, 3, {
        'steps': 300, 'batch_size': 128, 'learning_rate': 0.001, 'label_dropout': 0.15, 'ema_halflife': 50000})
    assert effective['gmm']['exact'] == {'points': 256, 'replicates': 8}
    assert effective['gmm']['track']['variants']['track-cfg3']['guidance_interval'] == [2, 20.5]
    expected = yaml.safe_load((ROOT / 'config' / 'test.yaml').read_text())
    assert validate_config(expected, root=ROOT) == []
    expected['models']['digits'].update(trajectories=330, shards=3)
    expected['models']['digits']['training']['learning_rate'] = 0.001
    expected['gmm']['exact']['points'] = 256
    expected['gmm']['track']['variants']['track-cfg3']['guidance_interval'] = [2, 20.5]
    assert effective == expected                         # and nothing else changed


def test_an_integral_float_where_the_schema_wants_an_integer_is_that_integer():
    # JSON Schema's `integer` accepts 300.0; the jobs get the schema's type (range(300.0) would fail) and the
    # params record 300 either way (entropic.pipeline.provenance)
    config = yaml.safe_load(TEST_CONFIG.read_text())
    config['models']['digits'].update(trajectories=330.0, shards=3.0)
    config['gmm']['grid']['decades_above'] = 2          # a `number`: an integer stays one (its value is the same)
    assert validate_config(config, root=ROOT) == []
    digits = config['models']['digits']
    assert (digits['trajectories'], digits['shards']) == (330, 3)
    assert type(digits['trajectories']) is int and type(digits['shards']) is int
    assert type(config['gmm']['grid']['decades_above']) is int


@pytest.mark.slow
@pytest.mark.parametrize('value, error', [
    ('many', "config key models.digits.trajectories: 'many' is not of type 'integer'"),
    ('2.5', "config key models.digits.trajectories: '2.5' is not of type 'integer'"),
])
def test_a_config_override_that_is_not_its_type_names_the_key(tmp_path, value, error):
    run = snakemake(tmp_path, '-n', '--config', f'models={{digits: {{trajectories: {value}}}}}',
                    configfiles=[TEST_CONFIG])
    output = run.stdout + run.stderr
    assert run.returncode != 0 and error in output and 'Traceback' not in output
    assert f'invalid config (from {TEST_CONFIG}, --config):' in output      # where the values came from
    assert not (tmp_path / 'results').exists()
