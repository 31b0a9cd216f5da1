"""Equal configs written differently: the keys of every mapping in another order, numbers retyped, a file re-saved
with sorted keys (test helper for the rerun tests: none of these may change what a job records)."""

from pathlib import Path

import yaml


def reordered(value, order):
    """`value` with the keys of every mapping in it, at every depth, in the order `order(keys)` gives."""
    if isinstance(value, dict):
        return {key: reordered(value[key], order) for key in order(list(value))}
    if isinstance(value, list):
        return [reordered(item, order) for item in value]
    return value


def reversed_keys(value):
    """Every mapping's keys in reverse order: a new order for every mapping with two keys or more."""
    return reordered(value, lambda keys: keys[::-1])


def shuffled_keys(value, rng):
    """Every mapping's keys in an order drawn from `rng` (a numpy Generator)."""
    return reordered(value, lambda keys: [keys[i] for i in rng.permutation(len(keys))])


def retyped_numbers(value):
    """Every integer as a float (80 as 80.0) and every integral float as an integer (2.0 as 2); booleans kept."""
    if isinstance(value, dict):
        return {key: retyped_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [retyped_numbers(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def rewritten(paths, folder, transform=None, sort_keys=False):
    """The config files `paths` written anew into `folder` (same names): each read, `transform`ed (if given) and
    dumped, with sorted keys if `sort_keys` (a file re-saved by a tool that sorts keys). The new paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in map(Path, paths):
        config = yaml.safe_load(path.read_text()) or {}
        (folder / path.name).write_text(yaml.safe_dump(transform(config) if transform else config, sort_keys=sort_keys))
        written.append(folder / path.name)
    return written
