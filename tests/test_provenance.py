"""What a job records about its settings (entropic.pipeline.provenance): one text for equal values, whatever the order of
their keys or the spelling of their numbers, and the values themselves unchanged for the code that reads them.
The rules' side (every job of every shipped config records the same params, inputs and logs) is in
tests/test_reruns.py."""

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from config_variants import retyped_numbers, reversed_keys, rewritten, shuffled_keys
from entropic.pipeline.provenance import canonical_text, recorded, recorded_config
from shipped_configs import CONFIGS, merged_config, user_configfiles

ROOT = Path(__file__).resolve().parents[1]
# the default config and every shipped one, as their users give them (an overlay with the config it adds to)
CONFIG_FILES = {'config': [ROOT / 'config.yaml'], **{p.stem: user_configfiles(p) for p in CONFIGS}}


def validated(paths, folder, transform=None):
    """The config files `paths`, each rewritten into `folder` with `transform` applied (as given without one),
    merged as Snakemake merges them, validated and recorded (what common.smk makes of them)."""
    return recorded_config(merged_config(rewritten(paths, folder, transform) if transform else paths))


@pytest.mark.parametrize('name', CONFIG_FILES)
def test_every_key_order_and_number_spelling_of_a_shipped_config_records_one_text(name, tmp_path):
    paths = CONFIG_FILES[name]
    text = canonical_text(validated(paths, tmp_path))
    rng = np.random.default_rng(0)
    variants = {'reversed': reversed_keys, 'retyped numbers': retyped_numbers,
                'sorted': lambda c: yaml.safe_load(yaml.safe_dump(c, sort_keys=True))}
    variants.update({f'shuffle {i}': lambda c: shuffled_keys(c, rng) for i in range(3)})
    for variant, transform in variants.items():
        assert canonical_text(validated(paths, tmp_path / variant, transform)) == text, f'{name}: {variant}'
    # and the text is the config's: one value changed anywhere changes it
    config = validated(paths, tmp_path)
    config['gmm']['seed'] += 1
    assert canonical_text(config) != text


def test_a_recorded_value_keeps_its_order_for_the_code_and_pickles_as_plain_types():
    value = {'runs': {'unguided': {}, 'cfg3': {'guidance': 3.0, 'guidance_interval': [1.0, 30.0]}},
             'b': [{'y': 1, 'x': 2}]}
    kept = recorded(copy.deepcopy(value))
    assert kept == value and list(kept) == ['runs', 'b'] and list(kept['runs']) == ['unguided', 'cfg3']
    assert repr(kept) == ("{'b': [{'x': 2, 'y': 1}], 'runs': {'cfg3': {'guidance': 3, 'guidance_interval': [1, 30]}, "
                          "'unguided': {}}}")
    # a job script gets it pickled: plain dicts and lists, in the config's order, numbers as they were
    script = pickle.loads(pickle.dumps(kept, protocol=4))
    assert type(script) is dict and type(script['runs']['cfg3']) is dict and type(script['b']) is list
    assert list(script['runs']) == ['unguided', 'cfg3'] and script['runs']['cfg3']['guidance'] == 3.0
    assert type(script['runs']['cfg3']['guidance']) is float
    # a copy in the Snakefile's process is recorded the same way, and YAML writes it as the plain mapping
    assert repr(copy.deepcopy(kept)) == repr(kept) and repr(copy.copy(kept)) == repr(kept)
    assert yaml.safe_load(yaml.safe_dump(kept, sort_keys=False)) == value


def test_numbers_are_recorded_by_value_and_other_values_apart():
    assert repr(recorded({'sigma_max': 80})) == repr(recorded({'sigma_max': 80.0})) == "{'sigma_max': 80}"
    assert repr(recorded(2.0)) == repr(2) and pickle.loads(pickle.dumps(recorded(2.0))) == 2.0
    assert type(pickle.loads(pickle.dumps(recorded(2.0)))) is float
    assert canonical_text(0.1) == repr(0.1) and canonical_text(float('inf')) == 'inf'
    assert canonical_text(2**60) == str(2**60)
    assert canonical_text(2.0**53) == canonical_text(2**53) and canonical_text(-0.0) == canonical_text(0)
    different = [True, 1.5, '1', None, [1], (1,), {'1': 1}, {1: 1}, 2**53 + 1]
    assert len({canonical_text(v) for v in different}) == len(different)
    assert canonical_text(np.int64(7)) == '7' and canonical_text(np.float32(0.5)) == '0.5'


def test_a_value_without_a_faithful_text_is_refused_naming_its_type():
    with pytest.raises(TypeError, match='Path'):
        canonical_text({'file': Path('config/test.yaml')})
