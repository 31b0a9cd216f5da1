"""Running a pretrained backend's rule chain under Snakemake on files placed in resources/ (test helper)."""

from pathlib import Path

import yaml

from snakemake_cli import snakemake


def run_chain(workdir, config, targets):
    """Snakemake on `targets` with `config` in `workdir`, whose resources/ already hold the weights (so the
    download rules must not run). Returns (result, modification times of resources/ before the run)."""
    before = {p: p.stat().st_mtime_ns for p in (Path(workdir) / 'resources').rglob('*') if p.is_file()}
    configfile = Path(workdir) / 'config.yaml'
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, *targets, configfiles=[configfile], cores=2, env={'HF_HUB_OFFLINE': '1'})
    assert result.returncode == 0, result.stderr[-4000:]
    return result, before


def check_outputs(workdir, result, before, targets, download_rules):
    """No download rule ran, resources/ is untouched and every target was written."""
    assert not any(rule in result.stderr for rule in download_rules)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    for target in targets:
        assert (Path(workdir) / target).stat().st_size > 5_000
