"""Test selection for the edit-test loop: `pytest -m fast` runs every test except those that run Snakemake rule
chains end to end or train networks (minutes each on a 2-core machine); plain `pytest` (and .ci/run) runs all.

A test is `fast` unless its module is in SLOW_MODULES or its name is in SLOW_TESTS: the lists name what is
slow, so a new test lands in the fast loop by default and moves out only when it is measured slow
(`pytest --durations=30`). Nothing is skipped by this file; it only adds the marker.

It also holds the runs that tests share, each made once per session: the complete run of config/test.yaml
(`test_config_run`) and the runs of the shipped configs (`shipped_config_run`); and it keeps each module whose tests share a Snakemake chain on one pytest-xdist worker.
"""

import fcntl
import os
from pathlib import Path

import pytest

from snakemake_cli import TEST_CONFIG, snakemake

SLOW_MODULES = {   # every test, or the module-scoped fixture they share, runs a Snakemake chain
    'test_pipeline.py', 'test_shipped_configs.py', 'test_dit_pipeline.py', 'test_edm2_pipeline.py', 'test_sd15_pipeline.py',
    'test_sd21_pipeline.py', 'test_sd3_pipeline.py', 'test_reruns.py', 'test_slurm.py', 'test_profiles.py',
    'test_diffusers_pipeline.py',
}
# single slow tests in otherwise fast modules, (module, test name without parameters): those that took 8 s or more
# (all parameters together) in a full run, -n 2, on the 2-core machine at load average 5 (pytest --durations, 2026-11-30)
SLOW_TESTS = {
    ('test_diffusers.py', 'test_a_guided_step_agrees_with_the_diffusers_pipelines_own_to_float32_rounding'),
    ('test_diffusers.py', 'test_sdxl_reference_is_the_zeroed_empty_prompt_as_its_pipeline_forms_it'),
    ('test_diffusers.py', 'test_pixart_reads_t5_under_its_attention_mask_and_lower_cases_prompts'),
    ('test_sd15.py', 'test_the_partitions_job_refuses_prompts_the_downloaded_tokenizer_cannot_tell_apart'),
    ('test_schedules.py', 'test_a_pretrained_models_schedule_metrics_are_fid_and_fd_dinov2_of_the_decoded_images'),
    ('test_image_metrics.py', 'test_a_pretrained_study_asked_for_fd_dinov2_alone_neither_loads_nor_runs_inception'),
    ('test_config.py', 'test_a_config_with_models_alone_plans_no_theory_track_and_an_empty_one_says_so'),
    ('test_backends.py', 'test_a_sharded_run_is_deterministic'),
    ('test_backends.py', 'test_denoiser_keeps_shape_and_dtype_and_is_finite_on_the_grid'),
    ('test_config.py', 'test_a_config_override_that_is_not_its_type_names_the_key'),
    ('test_config.py', 'test_every_way_of_setting_the_config_gives_the_same_typed_values'),
    ('test_config.py', 'test_gpu_configs_plan_their_runs_and_guidance_study'),
    ('test_config.py', 'test_snakemake_stops_on_bad_config_without_traceback'),
    ('test_dit.py', 'test_the_dit_config_plans_its_downloads_and_sharded_runs'),
    ('test_edm2.py', 'test_denoiser_routes_the_reference_to_the_unconditional_net_in_any_batch'),
    ('test_edm2.py', 'test_network_layout_matches_edm2_xs_state_dicts'),
    ('test_edm2.py', 'test_tracking_with_edm2_is_finite_from_sigma_80_to_0002_in_float32_and_float16'),
    ('test_empirical.py', 'test_matches_exact_quadrature_of_the_same_point_set'),
    ('test_estimators.py', 'test_binary_form_against_the_unconditional_reference'),
    ('test_estimators.py', 'test_combined_readout_matches_exact_entropy_with_less_variance'),
    ('test_estimators.py', 'test_paper_kernel_is_overconfident_by_the_measured_bias_k10'),
    ('test_estimators.py', 'test_posterior_martingales_have_mean_zero_along_the_papers_kernel'),
    ('test_estimators.py', 'test_tracked_partitions_match_exact_partition_entropy'),
    ('test_estimators.py', 'test_tracker_on_the_sd15_ddpm_grid_vp'),
    ('test_estimators.py', 'test_tracker_with_exact_kernels_matches_exact_entropy_k10'),
    ('test_faults.py', 'test_a_truncated_checkpoint_is_named_and_nothing_is_sampled_from_it'),
    ('test_faults.py', 'test_an_interrupted_run_completes_identically_on_rerun'),
    ('test_faults.py', 'test_nan_from_the_network_names_the_shard_and_noise_level'),
    ('test_faults.py', 'test_nan_in_a_tracked_class_that_the_shard_does_not_sample_names_it_and_writes_nothing'),
    ('test_image_metrics.py', 'test_inception_loads_the_weights_file_and_gives_2048_features_per_image'),
    ('test_networks.py', 'test_training_loss_decreases'),
    ('test_networks.py', 'test_unconditional_label_is_the_null_embedding_and_learns_its_own_denoiser'),
    ('test_noise.py', 'test_flow_grid_and_network_times_equal_diffusers_at_every_step_count'),
    ('test_sd15.py', 'test_the_config_check_refuses_prompts_the_downloaded_tokenizer_cannot_tell_apart'),
    ('test_sd15.py', 'test_the_partitions_job_reads_the_tokenizer_and_warns_of_a_truncated_prompt'),
    ('test_sd21.py', 'test_a_guided_run_gives_the_latents_of_diffusers_pipeline'),
    ('test_sd21.py', 'test_the_configs_plan_their_downloads_and_runs'),
    ('test_speciation.py', 'test_unreached_half_maximum_is_nan_not_extrapolated'),
    ('test_trajectories.py', 'test_curves_from_merged_shards_match_the_exact_entropy'),
}


def run_once(tmp_path_factory, name, run):
    """The working directory `name` made once per session by `run(workdir)` (None when it succeeded, else the text
    of its failure), shared by every test and every xdist worker that asks: the first runs it under a file lock in
    the session's base directory, the others wait for it. A failure fails every test that asks, with its text."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = root.parent                      # shared by the workers; each has its own folder below it
    workdir, done, failed = root / name, root / f'{name}.done', root / f'{name}.failed'
    with open(root / f'{name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # released when the file closes
        if not done.exists() and not failed.exists():
            workdir.mkdir()
            error = run(workdir)
            (done if error is None else failed).write_text(error or '')
    if failed.exists():
        pytest.fail(f'the shared run {workdir} failed:\n{failed.read_text()}')
    return workdir


@pytest.fixture(scope='session')
def test_config_run(tmp_path_factory):
    """The working directory of one complete run of config/test.yaml (`snakemake --cores 2` from an empty
    directory), made once per session (run_once). Tests only read it (dry runs included); a test that changes it
    works on a copy made with `cp -a` (which keeps the modification times Snakemake compares)."""
    def run(workdir):
        result = snakemake(workdir, configfiles=[TEST_CONFIG], cores=2)
        return None if result.returncode == 0 else result.stderr[-3000:]
    return run_once(tmp_path_factory, 'test-config-run', run)


@pytest.fixture(scope='session')
def shipped_config_run(tmp_path_factory, request):
    """shipped_config_run(name) -> (working directory, config files) of the run of config/<name>.yaml as its user
    runs it (tests/shipped_configs.py: the `all` target on stand-in weights with the size overlay; an overlay on a
    copy of the run of the config it adds to; config/test.yaml is test_config_run), made once per session and
    shared (run_once)."""
    from shipped_configs import ROOT, base_config, run_configfiles, run_shipped_config

    def get(name):
        path = ROOT / 'config' / f'{name}.yaml'
        if path == TEST_CONFIG:
            return request.getfixturevalue('test_config_run'), [TEST_CONFIG]
        base = base_config(path)            # an overlay goes on a copy of the run of the config it adds to
        base = get(base.stem)[0] if base else None
        workdir = run_once(tmp_path_factory, f'shipped-{name}', lambda w: run_shipped_config(w, path, base))
        return workdir, run_configfiles(workdir, path)
    return get


# Modules whose tests share a module-scoped fixture that runs a Snakemake chain or reads a shared run: each module
# (test_reruns.py: each backend) is one unit of the xdist scheduler below, which sends it whole to one worker, so that the chain runs once
# and not once on every worker its tests land on. (pytest-xdist's own xdist_group marks do not group under pytest 9:
# xdist 3.8 renames the tests through an attribute that pytest 9 no longer reads.)
GROUPED_MODULES = {'test_dit_pipeline.py', 'test_edm2_pipeline.py', 'test_sd15_pipeline.py', 'test_sd21_pipeline.py',
                   'test_sd3_pipeline.py', 'test_reruns.py', 'test_diffusers_pipeline.py'}
# The order the workers take the tests in, slowest modules first (pytest --durations, -n 2, 2026-11-30), so that
# the long chains run side by side from the start instead of one of them last on one worker; the other modules
# follow in collection order. Within test_pipeline.py the second run from scratch comes first: it starts its own
# chain while another worker makes the shared one (test_config_run).
FIRST_MODULES = ['test_pipeline.py', 'test_shipped_configs.py', 'test_slurm.py', 'test_estimators.py', 'test_faults.py',
                 'test_reruns.py', 'test_sd15.py', 'test_config.py', 'test_profiles.py', 'test_diffusers_pipeline.py',
                 # these read the shipped configs' runs (shipped_config_run): late, so that those are made by then
                 'test_edm2_pipeline.py', 'test_sd15_pipeline.py', 'test_sd3_pipeline.py', 'test_sd21_pipeline.py',
                 'test_dit_pipeline.py']
FIRST_TESTS = ['test_a_second_run_from_scratch_gives_byte_identical_results']


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name not in SLOW_MODULES and (name, item.originalname) not in SLOW_TESTS:
            item.add_marker(pytest.mark.fast)
    # A stable sort that keeps each module's tests together (module fixtures are set up once per run of them).
    rank = {name: i for i, name in enumerate(FIRST_MODULES)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), item.originalname not in FIRST_TESTS))


# Modules whose tests go out one by one: their slow tests share no module fixture, and run side by side.
SPLIT_MODULES = {'test_pipeline.py', 'test_shipped_configs.py', 'test_slurm.py', 'test_estimators.py', 'test_faults.py'}


def scheduling_unit(nodeid):
    """The unit of work a test belongs to: the test alone in SPLIT_MODULES, its backend in test_reruns.py, else
    its module (so a module's fixtures are made on one worker, as xdist's chunks of `--dist load` mostly did)."""
    name = Path(nodeid.split('::')[0]).name
    if name in SPLIT_MODULES:
        return nodeid
    return f"{name}[{nodeid.rsplit('[', 1)[1]}" if name == 'test_reruns.py' else name


def pytest_xdist_make_scheduler(config, log):
    """With `-n` and xdist's default `--dist load`: load balancing by the units of scheduling_unit, in the
    collection order (pyproject.toml's `--no-loadscope-reorder`); an explicit other `--dist` is kept."""
    if config.getvalue('dist') != 'load':
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ChainScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return scheduling_unit(nodeid)

    return ChainScheduling(config, log)
