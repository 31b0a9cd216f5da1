"""The ImageNet-1k class list (entropic/data/imagenet_classes.tsv) and the partitions in config/partitions/imagenet.yaml."""

import importlib.resources
import re
from pathlib import Path

import pytest
import yaml

from entropic.networks.imagenet import class_index, class_names, class_wnids
from entropic.theory.partitions import UNCONDITIONAL, read_partition_file

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = ROOT / 'config' / 'partitions' / 'imagenet.yaml'


def tsv_rows():
    text = (importlib.resources.files('entropic') / 'data' / 'imagenet_classes.tsv').read_text(encoding='utf-8')
    lines = text.splitlines()
    assert lines[0] == 'index\twnid\tname'
    return [line.split('\t') for line in lines[1:]]


def test_tsv_has_1000_ordered_rows_with_unique_wnids():
    rows = tsv_rows()
    assert len(rows) == 1000
    assert all(len(row) == 3 for row in rows)
    assert [int(index) for index, _, _ in rows] == list(range(1000))
    wnids = [wnid for _, wnid, _ in rows]
    assert all(re.fullmatch(r'n\d{8}', wnid) for wnid in wnids)
    assert len(set(wnids)) == 1000
    assert wnids == sorted(wnids)           # the standard order: wnids sorted (EDM2's folder order)
    assert all(name and name == name.strip() for _, _, name in rows)


@pytest.mark.parametrize('index, wnid, name', [
    (0, 'n01440764', 'tench'),
    (207, 'n02099601', 'golden retriever'),
    (281, 'n02123045', 'tabby'),
    (999, 'n15075141', 'toilet tissue'),
])
def test_spot_checks(index, wnid, name):
    assert tsv_rows()[index] == [str(index), wnid, name]
    assert class_names()[index] == name
    assert class_wnids()[index] == wnid
    assert class_index(name) == index
    assert class_index(wnid) == index


def test_class_names_and_lookup():
    assert len(class_names()) == 1000
    assert class_index('golden retriever') == 207
    assert class_index('Golden Retriever') == 207
    assert class_index('n02099601') == 207


def test_unknown_name_suggests_a_close_match():
    with pytest.raises(ValueError, match=r"golden retreiver.*golden retriever"):
        class_index('golden retreiver')


def test_ambiguous_name_asks_for_the_wnid():
    with pytest.raises(ValueError, match=r'ambiguous.*134.*517'):
        class_index('crane')


def test_partitions_are_valid_and_commented_with_the_class_names():
    partitions = read_partition_file(PARTITIONS, 1000)
    assert partitions
    assert partitions == {name: cells for name, cells in yaml.safe_load(PARTITIONS.read_text()).items()}
    names = class_names()
    text = PARTITIONS.read_text()
    # Every index in a flow list is followed by '# name' on its line: "[[207,    # golden retriever".
    comments = {}
    for line in text.splitlines():
        if line.lstrip().startswith('#'):
            continue
        found = re.findall(r'(-?\d+)\]*,?\s*#\s*(.+?)\s*$', line)
        members = re.findall(r'-?\d+', line.split('#')[0])
        assert len(found) == len(members) <= 1, f'one index and its comment per line: {line!r}'
        for index, comment in found:
            comments.setdefault(int(index), set()).add(comment)
    in_play = {k for cells in partitions.values() for cell in cells for k in cell if k != UNCONDITIONAL}
    assert set(comments) - {UNCONDITIONAL} == in_play
    for index in in_play:
        for comment in comments[index]:
            assert names[index].lower().startswith(comment.lower()), (index, comment, names[index])
    assert 10 <= len(in_play) <= 14           # the budget: every class in play costs a network call per step


def test_header_lists_the_union_of_classes():
    partitions = read_partition_file(PARTITIONS, 1000)
    in_play = {k for cells in partitions.values() for cell in cells for k in cell if k != UNCONDITIONAL}
    header = PARTITIONS.read_text().split('\n\n')[0]
    union = re.search(r'Union of the classes in play \((\d+)\):\n((?:#   .*\n?)+)', header)
    assert union and int(union.group(1)) == len(in_play)
    listed = dict((int(k), name) for k, name in re.findall(r'(\d+) ([^,\n]+)', union.group(2)))
    assert set(listed) == in_play
    assert all(class_names()[k] == name.strip() for k, name in listed.items())
