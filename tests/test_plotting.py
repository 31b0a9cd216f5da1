"""The house style written out in entropic.plotting is seaborn's theme, value for value (figures stay
byte-identical without importing seaborn in every figure job)."""

import json
import subprocess
import sys

STATE = '''
import json, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
{setup}
colors = {palette}
rc = {{k: repr(v) for k, v in plt.rcParams.items() if k != 'image.cmap'}}
codes = {{c: matplotlib.colors.to_rgb(c) for c in 'bgrmyck'}}
palettes = {{f'{{name}}-{{n}}': [list(map(float, c)) for c in colors(name, n)]
             for name in ('deep', 'tab10', 'viridis') for n in (1, 3, 7, 12)}}
print(json.dumps(dict(rc=rc, codes=codes, palettes=palettes, seaborn='seaborn' in __import__('sys').modules)))
'''
SEABORN = '''import seaborn as sns
sns.set_theme(context='paper', style='whitegrid', font_scale=1.1)
plt.rcParams.update({'figure.dpi': 120, 'axes.spines.top': False, 'axes.spines.right': False, 'legend.frameon': False})'''


def state(setup, palette):
    code = STATE.format(setup=setup, palette=palette)
    return json.loads(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout)


def test_house_style_is_seaborns_theme_without_seaborn():
    ours = state('from entropic import plotting\nplotting.setup()', 'lambda name, n: plotting.sequential_colors(n, name)')
    theirs = state(SEABORN, 'lambda name, n: sns.color_palette(name, n)')
    assert ours['seaborn'] is False and theirs['seaborn'] is True
    differ = {k: (ours['rc'].get(k), v) for k, v in theirs['rc'].items() if ours['rc'].get(k) != v}
    assert differ == {}             # exact: the same floats, colours and cycler
    assert ours['codes'] == theirs['codes']
    assert ours['palettes'] == theirs['palettes']
