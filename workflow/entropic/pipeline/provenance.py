"""What a job records about its settings: one canonical text for equal values, whatever their order.

Snakemake reruns a job whose parameters changed, and it decides that by comparing the `repr()` of each
parameter with the text it stored when the job ran (.snakemake/metadata; `--rerun-triggers params`, on by
default). Python's `repr` of a dict follows its insertion order, while `==` ignores it, so a config whose
mappings list the same keys in another order (`{width: 64, blocks: 2}` for `{blocks: 2, width: 64}`, a file
re-saved with sorted keys) reruns every job that takes part of it, the GPU sampling included (Snakemake issue
#2212 reports the same for dict params).

Here a value keeps its order for the code that reads it (runs, experiments and variants are listed in figures
and tables in the config's order) but shows Snakemake one text for every equal value: `canonical_text` sorts
the keys of every mapping and writes every number by its value (80 and 80.0 alike). `recorded` makes such a
value; the Snakefile passes the validated config through it once (common.smk), so every parameter taken from
the config is recorded this way, and a parameter that builds a mapping of its own goes through it too. A job
script gets plain dicts and lists, in the config's order: the values pickle as their plain types.
"""

import copy
import math
import numbers

import yaml

#----------------------------------------------------------------------------

def canonical_text(value):
    """One text for every value equal to `value`: mappings with their keys sorted (by their own canonical
    text), lists and tuples in their order, numbers by value (an integral float as its integer, 80.0 as 80;
    booleans as True and False), strings and None as Python writes them. Mappings, lists, tuples, strings,
    numbers, booleans and None, nested; TypeError naming the type of anything else (a value whose text could
    change without its meaning, or the reverse, is no parameter to record)."""
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return str(int(value)) if math.isfinite(value) and value.is_integer() else repr(value)
    if isinstance(value, dict):
        items = sorted((canonical_text(k), canonical_text(v)) for k, v in value.items())
        return '{' + ', '.join(f'{k}: {v}' for k, v in items) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(canonical_text(v) for v in value) + ']'
    if isinstance(value, tuple):
        return '(' + ', '.join(canonical_text(v) for v in value) + (',' if len(value) == 1 else '') + ')'
    raise TypeError(f'a job parameter cannot hold a {type(value).__name__} ({value!r}): record mappings, lists, '
                    'strings, numbers, booleans or None')


class _Recorded:
    """A value whose `repr` is its canonical text (what Snakemake records); copied, still one; pickled (to a job
    script), the plain value of its base type (`_plain`)."""

    def __repr__(self):
        return canonical_text(self)

    def __reduce__(self):
        return self._plain, (self._plain(self),)

    def __copy__(self):
        return type(self)(self)

    def __deepcopy__(self, memo):
        return recorded(copy.deepcopy(self._plain(self), memo))


class RecordedDict(_Recorded, dict):
    """A dict in its own order, recorded with its keys sorted."""
    _plain = dict


class RecordedList(_Recorded, list):
    """A list recorded with its mappings' keys sorted."""
    _plain = list


class RecordedFloat(_Recorded, float):
    """A float parameter recorded by its value (2.0 as 2, like the integer 2). Only a parameter is one: its `str`
    is its canonical text too, so it is not for formatting."""
    _plain = float


def recorded(value):
    """`value` as a job parameter: every mapping in it a RecordedDict and every list a RecordedList, in their
    order, and a float a RecordedFloat; equal to `value` (==), and its `repr` is canonical_text(value). Other
    values are returned as they are (their repr is already canonical: integers, strings, booleans, None)."""
    if isinstance(value, dict):
        return RecordedDict((k, _nested(v)) for k, v in value.items())
    if isinstance(value, list):
        return RecordedList(_nested(v) for v in value)
    if isinstance(value, float):
        return RecordedFloat(value)
    return value


def _nested(value):
    """A value inside a recorded mapping or list: its containers recorded, its numbers left alone (the
    container's canonical text writes them by value, and code may format them)."""
    return recorded(value) if isinstance(value, (dict, list)) else value


def recorded_config(config):
    """Make every mapping and list of a validated config a recorded one, in place and in order (the top
    level stays the dict Snakemake holds); returns `config`."""
    for key, value in config.items():
        config[key] = _nested(value)
    return config


# A recorded value written to YAML in the Snakefile's process is the plain mapping or list it stands for.
for _dumper in (yaml.SafeDumper, yaml.Dumper):
    _dumper.add_representer(RecordedDict, yaml.representer.SafeRepresenter.represent_dict)
    _dumper.add_representer(RecordedList, yaml.representer.SafeRepresenter.represent_list)
    _dumper.add_representer(RecordedFloat, yaml.representer.SafeRepresenter.represent_float)
