"""The ImageNet-1k (ILSVRC 2012) class list: index, WordNet id and short name of the 1000 classes.

The list is data/imagenet_classes.tsv (columns index, wnid, name; a header line), shipped inside the package.
Source: the `timm` 1.0.31 wheel on PyPI, files timm/data/_info/imagenet_synsets.txt (the 1000 wnids in class
index order) and timm/data/_info/imagenet_synset_to_lemma.txt (wnid -> WordNet lemmas); the name here is the
first lemma ('tabby, tabby cat' -> 'tabby'). Two names are shared by two classes each ('crane' 134 and 517,
'maillot' 638 and 639): look those up by wnid.

The order is the standard one: the wnids sorted, as torchvision's ImageFolder numbers the ILSVRC train
folders. EDM2's ImageNet-512 dataset uses the same order: its dataset_tool.py (open_image_folder) labels
each image by the index of its top-level folder (the wnid) among the sorted folder names, so class k of an
EDM2 checkpoint is row k here (0 = n01440764 tench, 207 = n02099601 golden retriever, 999 = n15075141
toilet tissue).
"""

import difflib
import functools
import importlib.resources

NUM_CLASSES = 1000

#----------------------------------------------------------------------------

@functools.cache
def _rows():
    """[(wnid, name)] in class index order, checked against the index column."""
    text = (importlib.resources.files('entropic') / 'data' / 'imagenet_classes.tsv').read_text(encoding='utf-8')
    lines = text.splitlines()
    if lines[0] != 'index\twnid\tname':
        raise ValueError(f'imagenet_classes.tsv: unexpected header {lines[0]!r}')
    rows = []
    for expected, line in enumerate(lines[1:]):
        index, wnid, name = line.split('\t')
        if int(index) != expected:
            raise ValueError(f'imagenet_classes.tsv: row {expected} has index {index}')
        rows.append((wnid, name))
    if len(rows) != NUM_CLASSES:
        raise ValueError(f'imagenet_classes.tsv: {len(rows)} classes, expected {NUM_CLASSES}')
    return tuple(rows)

def class_names():
    """The 1000 short class names, in class index order."""
    return [name for _, name in _rows()]

def class_wnids():
    """The 1000 WordNet ids, in class index order."""
    return [wnid for wnid, _ in _rows()]

def class_index(name_or_wnid):
    """Class index of a wnid ('n02099601') or short name ('golden retriever', case-insensitive)."""
    key = str(name_or_wnid).strip()
    wnids = class_wnids()
    if key in wnids:
        return wnids.index(key)
    names = [name.lower() for name in class_names()]
    matches = [k for k, name in enumerate(names) if name == key.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f'ImageNet class name {name_or_wnid!r} is ambiguous: classes '
                         + ', '.join(f'{k} ({wnids[k]})' for k in matches) + '; give the wnid')
    close = difflib.get_close_matches(key.lower(), names, n=5, cutoff=0.6)
    hint = f'; did you mean {", ".join(repr(class_names()[names.index(c)]) for c in close)}?' if close else ''
    raise ValueError(f'unknown ImageNet class {name_or_wnid!r}{hint}')
