"""Semantic partitions: hypotheses grouped into cells (docs/method.md eq. 4-5).

A partition is a list of cells, each a list of hypothesis indices (GMM components, digit classes,
ImageNet classes, prompts). Hypotheses in no cell are out of play: the partitioned entropy is that of
the cell variable f(Z) under the data conditioned on Z being in play, and a cell's posterior is the
logsumexp of its members' posteriors renormalised over the cells in play (Handke et al. 2025, arXiv:2506.10433).

The unconditional model can stand in a partition as a pseudo-hypothesis, UNCONDITIONAL (-1), in a cell of
its own: [[k], [UNCONDITIONAL]] is the paper's binary form (class k against the unconditional reference,
Handke et al. 2026, arXiv:2602.09651, App. B), whose hypotheses have the forced prior 1/2 and whose data are the two mixed.
"""

import numpy as np
from scipy.special import logsumexp
import yaml

UNCONDITIONAL = -1      # the unconditional model (the whole mixture) as a hypothesis

#----------------------------------------------------------------------------

def check_partition(cells, num_hypotheses, name='partition'):
    """Validate a partition and return it as a list of lists of ints; errors name the partition."""
    if not isinstance(cells, (list, tuple)) or len(cells) < 2:
        raise ValueError(f'{name}: a partition needs at least two cells, got {cells!r}')
    if any(UNCONDITIONAL in cell for cell in cells) and not (
            len(cells) == 2 and len(cells[0]) == 1 and list(cells[1]) == [UNCONDITIONAL]):
        raise ValueError(f'{name}: a partition with the unconditional reference ({UNCONDITIONAL}) must be '
                         f'[[k], [{UNCONDITIONAL}]] (one class against the reference), got {cells!r}')
    seen = set()
    clean = []
    for cell in cells:
        if not isinstance(cell, (list, tuple)) or len(cell) == 0:
            raise ValueError(f'{name}: every cell must be a non-empty list of hypothesis indices, got {cell!r}')
        if list(cell) == [UNCONDITIONAL]:   # the reference, in a cell of its own
            clean.append([UNCONDITIONAL])
            continue
        for k in cell:
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k < num_hypotheses:
                raise ValueError(f'{name}: unknown member {k!r}; hypotheses are 0..{num_hypotheses - 1}')
            if k in seen:
                raise ValueError(f'{name}: hypothesis {k} is in more than one cell')
            seen.add(int(k))
        clean.append([int(k) for k in cell])
    return clean

def identity_partition(num_hypotheses):
    """Every hypothesis its own cell: H[f(Z) | X] = H[Z | X]."""
    return [[k] for k in range(num_hypotheses)]

def has_reference(cells):
    return any(UNCONDITIONAL in cell for cell in cells)

def in_play(cells, num_hypotheses):
    """Sorted hypothesis indices whose data the partition acts on: its members, or all with the reference."""
    if has_reference(cells):
        return np.arange(num_hypotheses)
    return np.array(sorted(k for cell in cells for k in cell))

def cell_log_posterior(log_post, cells):
    """log P(cell | x) renormalised over the cells in play; log_post: [..., K] -> [..., C]."""
    log_cells = np.stack([logsumexp(log_post[..., cell], axis=-1) for cell in cells], axis=-1)
    return log_cells - logsumexp(log_cells, axis=-1, keepdims=True)

def entropy_from_log_probs(log_p, axis=-1):
    """-sum p log p in nats, finite when some p underflow to 0."""
    p = np.exp(log_p)
    return -np.sum(np.where(p > 0, p * log_p, 0.0), axis=axis)

def read_partition_file(path, num_classes):
    """Named partitions from a YAML file (config/partitions/*.yaml), checked; errors name the file and partition."""
    try:
        entries = yaml.safe_load(open(path)) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f'{path}: cannot read partitions ({err})') from None
    if not isinstance(entries, dict):
        raise ValueError(f'{path}: expected a mapping of partition names to cells, got {type(entries).__name__}')
    return {name: check_partition(cells, num_classes, name=f'{path}: partition {name!r}')
            for name, cells in entries.items()}
