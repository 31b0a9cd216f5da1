"""What the pipeline builds: the targets each rule file registers, and the rules it generates.

A rule file registers, beside a rule that writes a figure, a table or another result a reader asks for, that
rule's outputs, when the config asks for them and what they show (`Targets.add`); the target `all` builds every
registered output the config asks for, and docs/results.md's catalogue of figures and tables is written from
the same registrations (tools/results_catalogue.py). A new figure is its script and its rule with its
registration.

The window fits are rules generated from the config (`speciation_jobs`): one per experiment or model, with a
curve that places guidance elsewhere fit in a job of its own.
"""

import dataclasses
import re

from entropic.files import paths

#----------------------------------------------------------------------------

WILDCARD = re.compile(r'\{(\w+)\}')

@dataclasses.dataclass(frozen=True)
class Target:
    """One rule's registered outputs."""
    rule:    str        # the rule that writes them (what `--forcerun` takes)
    outputs: tuple      # its output patterns, with at most one kind of {wildcard}
    names:   tuple      # the names the wildcard takes in this config; () with none asked; None: no wildcard
    asked:   bool       # whether the config asks for them
    what:    object     # what they show: one text, or {stem: text} for a rule of several figures or tables

    @property
    def wildcard(self):
        """The name of the outputs' wildcard, or None."""
        found = {name for output in self.outputs for name in WILDCARD.findall(output)}
        return found.pop() if found else None

    def paths(self):
        """The outputs the config asks for: every pattern filled in with every name, name by name."""
        if not self.asked:
            return []
        if self.names is None:
            return list(self.outputs)
        return [output.format(**{self.wildcard: name}) for name in self.names for output in self.outputs]

    def rows(self):
        """[(outputs, what)]: the catalogue's rows of this target, one per text of `what`, each with the outputs
        it describes (those whose file name without its extension is the text's key; all for one text)."""
        if isinstance(self.what, str):
            return [(list(self.outputs), self.what)]
        return [([o for o in self.outputs if _stem(o) == stem], text) for stem, text in self.what.items()]

def _stem(path):
    return path.rsplit('/', 1)[-1].rsplit('.', 1)[0]

class Targets:
    """The registered targets of a workflow, in the order of registration."""

    def __init__(self):
        self.targets = []

    def add(self, rule, outputs, when=True, what=None):
        """Register the `outputs` (patterns) of `rule`. `when`: for outputs without a wildcard, whether the config
        asks for them; with one ({model}), the names it asks for them with (none: not asked). `what`: what they
        show, one text or {stem: text} covering every output's stem (its file name without the extension), each
        a row of the catalogue. ValueError naming the rule: outputs with two kinds of wildcard, a `when` of the
        wrong kind, a rule registered twice, a missing `what` or one whose stems are not the outputs'."""
        target = Target(rule, tuple(outputs), None, bool(when), what)
        kinds = {name for output in target.outputs for name in WILDCARD.findall(output)}
        if not target.outputs or len(kinds) > 1:
            raise ValueError(f'rule {rule}: register outputs with at most one kind of wildcard, not {list(outputs)}')
        if kinds:
            if isinstance(when, (bool, str)) or when is None:
                raise ValueError(f'rule {rule}: its outputs have the wildcard {{{kinds.pop()}}}: `when` is the names '
                                 f'the config asks for them with, not {when!r}')
            target = dataclasses.replace(target, names=tuple(when), asked=bool(tuple(when)))
        elif not isinstance(when, bool):
            raise ValueError(f'rule {rule}: its outputs have no wildcard: `when` is True or False, not {when!r}')
        if any(t.rule == rule for t in self.targets):
            raise ValueError(f'rule {rule} is registered twice')
        if not what or not isinstance(what, (str, dict)):
            raise ValueError(f'rule {rule}: register what its outputs show (`what`, a text or {{stem: text}})')
        if isinstance(what, dict):
            stems = {_stem(o) for o in target.outputs}
            if set(what) != stems:
                raise ValueError(f'rule {rule}: `what` must describe every output stem {sorted(stems)}, '
                                 f'not {sorted(what)}')
        self.targets.append(target)

    def paths(self):
        """Every output the config asks for, in the order of registration: what `all` builds."""
        return [path for target in self.targets for path in target.paths()]

    def catalogue(self):
        """[(outputs, rule, what)] of every registered target whether asked or not (the rows of docs/results.md's
        catalogue), in the order of registration."""
        return [(outputs, target.rule, what) for target in self.targets for outputs, what in target.rows()]

def catalogue_cell(outputs):
    """The outputs as the catalogue writes them: backticked paths, the formats of one file name in braces
    ('`results/figures/x.{pdf,png}`'), a {wildcard} as <wildcard>; in the order given."""
    groups = {}
    for output in outputs:
        stem, _, ext = output.rpartition('.')
        groups.setdefault(WILDCARD.sub(r'<\1>', stem), []).append(ext)
    return ', '.join(f'`{stem}.{exts[0]}`' if len(exts) == 1 else f'`{stem}.{{{",".join(exts)}}}`'
                     for stem, exts in groups.items())

#----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SpeciationJob:
    """A generated window-fit rule: its name, the experiment or model and the curves it fits, its log."""
    rule:       str
    track:      str     # paths.GMM or paths.MODELS
    name:       str
    estimators: list    # the curves' estimator or run names, sorted
    log:        str

def speciation_jobs(subjects):
    """The window-fit jobs of `subjects`, [(track, name, estimators, placing)]: one job per experiment or model
    fitting every curve it has (`estimators`), except that a curve whose window places guidance (in the set
    `placing`: a placed run's source, a guidance study's) is fit in a job of its own, as soon as that curve
    exists: a placed run samples after its source's window, so one job with both would be a cycle, and a
    guidance study need not wait for the other runs. A job's curves are fit each as if alone, so their order
    means nothing: they are sorted. Rule names are speciation_<track>_<name>[_<estimator>] with every non-word
    character as '_' (a clash gets a numeric suffix, the number of names before it); logs are
    results/logs/speciation/<track>-<name>[-<estimator>].log. [SpeciationJob], subject by subject."""
    jobs, used = [], set()
    for track, name, estimators, placing in subjects:
        estimators = sorted(estimators)
        split = [[e] for e in estimators if e in placing] + [[e for e in estimators if e not in placing]]
        for part in filter(None, split):
            words = [track, name] + (part if part[0] in placing else [])
            rule = re.sub(r'\W', '_', '_'.join(['speciation'] + words))
            rule = rule if rule not in used else f'{rule}_{len(used)}'
            used.add(rule)
            jobs.append(SpeciationJob(rule, track, name, part, paths.log('speciation', *words)))
    return jobs
