"""FID and FD-DINOv2 (entropic.studies.image_metrics; their networks entropic.networks.inception and dinov2): the
networks' layouts, their loaders on real file formats, reference statistics in NVlabs' layout, and the metrics
against closed forms.

Outside the repository, with the same random weights, InceptionFID agreed exactly (0.0) with pytorch-fid's
FID Inception, and DINOv2Features with facebookresearch/dinov2's own ViT under EDM2's preprocessing; without
our position-embedding interpolation, transformers' DINOv2 differed from it by 2.7e-4.
"""

import os
import pickle

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from entropic.networks import inception
from entropic.networks.dinov2 import load_dinov2
from entropic.studies import image_metrics, sample_metrics

from tests.support import feature_synthetic as synthetic


def test_inception_has_the_layout_of_the_fid_weights():
    # pytorch-fid's FID Inception: 472 tensors besides the batch-norm counters, 23,850,960 parameters
    # (counted on its model); the key names are those of the weights file.
    net = inception.InceptionFID()
    state = {k: v for k, v in net.state_dict().items() if not k.endswith('num_batches_tracked')}
    assert len(state) == 472
    assert sum(p.numel() for p in net.parameters()) == 23_850_960
    assert {'Conv2d_1a_3x3.conv.weight', 'Mixed_7c.branch_pool.bn.running_var', 'fc.weight'} <= set(state)
    assert state['fc.weight'].shape == (1008, 2048) and state['Mixed_6e.branch7x7dbl_5.conv.weight'].shape == (192, 192, 1, 7)


@pytest.fixture(scope='module')
def inception_file(tmp_path_factory):
    return synthetic.write_inception(tmp_path_factory.mktemp('fid'))


@pytest.mark.slow
def test_inception_loads_the_weights_file_and_gives_2048_features_per_image(inception_file):
    net = inception.load_inception(inception_file)
    reference = synthetic.random_inception()
    images = torch.randint(0, 256, (2, 3, 40, 56), dtype=torch.uint8)
    with torch.no_grad():
        features = net(images)
        expected = reference.half().float()(images)     # the file holds float16 weights
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-4)
    assert features.std(0).mean() > 0                   # features depend on the image


def test_inception_pools_exclude_padding_and_the_last_block_pools_by_max():
    x = torch.ones(1, 1, 4, 4)
    assert torch.equal(inception.tf_avg_pool(x), x)           # borders average only inside pixels
    block = inception.MixedE(8, 'max')
    assert block.pool == 'max' and inception.InceptionFID().Mixed_7b.pool == 'avg'


def test_inception_loader_names_the_file_on_a_wrong_or_foreign_file(tmp_path, inception_file):
    with pytest.raises(FileNotFoundError, match='rule download fetches'):
        inception.load_inception(tmp_path / 'absent.pth')
    state = torch.load(inception_file, weights_only=True)
    del state['Mixed_5b.branch1x1.conv.weight']
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r'partial\.pth.*missing'):
        inception.load_inception(tmp_path / 'partial.pth')

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo owned',))
    with open(tmp_path / 'evil.pth', 'wb') as f:
        pickle.dump(Evil(), f)
    with pytest.raises(ValueError, match=r'evil\.pth.*not a readable weights file'):
        inception.load_inception(tmp_path / 'evil.pth')


@pytest.fixture(scope='module')
def dinov2(tmp_path_factory):
    return load_dinov2(synthetic.write_dinov2(tmp_path_factory.mktemp('dinov2')))


def test_dinov2_features_are_the_normalised_class_token_at_224_with_hub_position_embeddings(dinov2):
    images = torch.randint(0, 256, (3, 3, 64, 48), dtype=torch.uint8)
    with torch.no_grad():
        features = dinov2(images)
        # By hand: EDM2's preprocessing, the hub's position interpolation, the model's layer-normed class token.
        x = F.interpolate(images.float(), size=(224, 224), mode='bicubic', antialias=True) / 255
        x = (x - torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
        model = dinov2.model
        table = model.embeddings.position_embeddings
        grid = F.interpolate(table[:, 1:].reshape(1, 37, 37, -1).permute(0, 3, 1, 2), scale_factor=16.1 / 37, mode='bicubic')
        assert grid.shape[-2:] == (16, 16)
        tokens = model.embeddings.patch_embeddings(x)
        tokens = torch.cat([model.embeddings.cls_token.expand(3, -1, -1), tokens], 1)
        tokens = tokens + torch.cat([table[:, :1], grid.permute(0, 2, 3, 1).reshape(1, 256, -1)], 1)
        for layer in model.encoder.layer:
            out = layer(tokens)
            tokens = out[0] if isinstance(out, tuple) else out
        expected = model.layernorm(tokens)[:, 0]
    assert features.shape == (3, synthetic.DINOV2_HIDDEN)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-5)


def test_dinov2_loader_names_the_folder_when_absent(tmp_path):
    with pytest.raises(FileNotFoundError, match='rule download fetches'):
        load_dinov2(tmp_path)


def test_images_are_quantised_as_edm2_does():
    images = np.array([[[[0.0, 0.5, 1.0], [0.999, -0.2, 1.3]]]], dtype=np.float32)   # [1, 1, 2, 3]
    out = image_metrics.to_uint8(images)
    assert out.shape == (1, 3, 1, 2) and out.dtype == torch.uint8
    assert out[0, :, 0, 0].tolist() == [0, 127, 255] and out[0, :, 0, 1].tolist() == [254, 0, 255]


def test_reference_statistics_in_nvlabs_layout_and_ours_read_alike(tmp_path):
    stats = synthetic.write_reference_pickle(tmp_path / 'img512.pkl', {'fid': 5, 'fd_dinov2': 3})
    read = image_metrics.read_reference(tmp_path / 'img512.pkl')
    np.testing.assert_array_equal(read['fid'][0], stats['fid']['mu'])
    np.testing.assert_array_equal(read['fd_dinov2'][1], stats['fd_dinov2']['sigma'])
    image_metrics.write_reference(tmp_path / 'ours.npz', read, num_images=1000)
    again = image_metrics.read_reference(tmp_path / 'ours.npz')
    for metric in image_metrics.METRICS:
        for a, b in zip(read[metric], again[metric]):
            np.testing.assert_array_equal(a, b)


def test_bad_reference_statistics_are_refused_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='downloaded by rule download'):
        image_metrics.read_reference(tmp_path / 'img512.pkl')

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo owned',))
    with open(tmp_path / 'evil.pkl', 'wb') as f:
        pickle.dump({'fid': Evil()}, f)
    with pytest.raises(ValueError, match=r'evil\.pkl.*refused.*system'):
        image_metrics.read_reference(tmp_path / 'evil.pkl')
    with open(tmp_path / 'fid-only.pkl', 'wb') as f:
        pickle.dump({'fid': {'mu': np.zeros(2), 'sigma': np.eye(2)}}, f)
    with pytest.raises(ValueError, match=r'fid-only\.pkl: no fd_dinov2'):
        image_metrics.read_reference(tmp_path / 'fid-only.pkl')
    with open(tmp_path / 'nan.pkl', 'wb') as f:
        pickle.dump({m: {'mu': np.array([0.0, np.nan]), 'sigma': np.eye(2)} for m in image_metrics.METRICS}, f)
    with pytest.raises(ValueError, match=r'nan\.pkl: fid statistics'):
        image_metrics.read_reference(tmp_path / 'nan.pkl')


def test_frechet_distance_agrees_with_edm2s_sqrtm_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    ca, cb, ma, mb = a @ a.T, b @ b.T, rng.normal(size=6), rng.normal(size=6)
    root = scipy.linalg.sqrtm(ca @ cb)
    expected = float(np.real(np.sum((ma - mb) ** 2) + np.trace(ca + cb - 2 * root)))
    # A non-singular pair (checked): with every eigenvalue of C_a C_b at least lam = 0.045, rounding of
    # delta = d eps |C_a| |C_b| ~ 3e-13 moves the trace of the root by d delta / (2 sqrt(lam)) ~ 5e-12, and
    # sqrtm of the non-symmetric product (condition 5e3) by ~ cond eps |root| ~ 4e-11: rel=1e-9 (3.5e-8 here)
    # holds on any BLAS. (A singular pair is another matter: test_guidance_study's bound.)
    assert np.linalg.eigvals(ca @ cb).real.min() > 0.04
    assert sample_metrics.frechet_distance(ma, ca, mb, cb) == pytest.approx(expected, rel=1e-9)


def test_sample_metrics_measure_the_chosen_rows_against_the_reference():
    rng = np.random.default_rng(1)
    n, labels = 4000, np.repeat([0, 1], 2000)
    features = {'fid': rng.normal(size=(n, 3)), 'fd_dinov2': rng.normal(size=(n, 2)) + 5 * labels[:, None]}
    reference = {'fid': (np.array([1.0, 0.0, 0.0]), np.eye(3)), 'fd_dinov2': (np.zeros(2), np.eye(2))}
    rows = np.arange(0, n, 2)
    out = image_metrics.sample_metrics(features, reference, rows, labels[rows])
    # FID: |shift|^2 = 1 plus the sampling noise of 2000 rows; 4 standard errors of the mean term: 4 * 2 sqrt(3 / 2000).
    assert out['fid'] == pytest.approx(1.0, abs=4 * 2 * np.sqrt(3 / 2000) + 0.02)
    # The two classes sit 5 apart in each DINOv2 coordinate: far from the reference; within a class the spread
    # is the mean norm of a 2-d standard normal, sqrt(pi / 2).
    assert out['fd_dinov2'] > 10
    assert out['spread'] == pytest.approx(np.sqrt(np.pi / 2), abs=0.05)
    with pytest.raises(ValueError, match='1 sample of class 1 in a fold'):
        image_metrics.sample_metrics(features, reference, np.arange(2001), labels[:2001])
    with pytest.raises(ValueError, match='stats.pkl: fd_dinov2 reference statistics are 2-d'):
        image_metrics.check_features({'fid': features['fid'], 'fd_dinov2': np.zeros((4, 7))}, reference, 'stats.pkl')


def test_sample_metrics_of_a_subset_are_the_same_numbers_and_read_only_their_networks():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 50)
    features = {'fid': rng.normal(size=(100, 3)), 'fd_dinov2': rng.normal(size=(100, 2))}
    reference = {'fid': (np.ones(3), np.eye(3)), 'fd_dinov2': (np.zeros(2), np.eye(2))}
    rows = np.arange(100)
    full = image_metrics.sample_metrics(features, reference, rows, labels)
    assert image_metrics.feature_networks(['fd_dinov2', 'spread']) == ['fd_dinov2']
    alone = image_metrics.sample_metrics({'fd_dinov2': features['fd_dinov2']}, reference, rows, labels, ['fd_dinov2'])
    assert alone == {'fd_dinov2': full['fd_dinov2']}
    image_metrics.check_features({'fd_dinov2': features['fd_dinov2']}, reference, 'stats.pkl')   # no FID features: fine
    with pytest.raises(ValueError, match=r"no image metric \['is'\]"):
        image_metrics.sample_metrics(features, reference, rows, labels, ['is'])


@pytest.mark.slow
def test_a_pretrained_study_asked_for_fd_dinov2_alone_neither_loads_nor_runs_inception(tmp_path):
    # The tuning set's interval search asks for its selection metric alone (rule guidance_study_metrics): the same
    # FD-DINOv2 as measured with every metric, and no Inception-v3, whose file is gone by then.
    import logging
    from entropic.backends.pretrained import PretrainedBackend
    inception = synthetic.write_inception(tmp_path / 'fid')
    dinov2 = synthetic.write_dinov2(tmp_path / 'dinov2-large')
    synthetic.write_reference_pickle(tmp_path / 'img512.pkl')
    files = {'inception': str(inception), 'dinov2': [str(dinov2 / 'config.json')], 'statistics': str(tmp_path / 'img512.pkl')}
    backend, log = PretrainedBackend(), logging.getLogger('test')     # its default decoder: samples that are pixels
    x = np.random.default_rng(3).uniform(-1, 1, size=(8, 3, 16, 16)).astype(np.float32)
    labels = np.repeat([0, 1], 4)
    full = backend.study_metrics({'batch': 4}, files, None, 0, log)(x, labels, 2)
    assert {'fid', 'fd_dinov2', 'spread'} <= set(full)
    inception.unlink()
    alone = backend.study_metrics({'batch': 4}, files, None, 0, log, metrics=['fd_dinov2'])(x, labels, 2)
    assert alone == {key: full[key] for key in ('fd_dinov2', 'fd_dinov2_lo', 'fd_dinov2_hi')}
    with pytest.raises(FileNotFoundError, match='no FID Inception weights'):
        backend.study_metrics({'batch': 4}, files, None, 0, log, metrics=['fid'])


def test_image_folders_are_read_in_batches_of_equal_size(tmp_path):
    from PIL import Image
    for i, size in enumerate([(8, 6), (8, 6), (8, 6), (5, 5)]):
        Image.fromarray(np.full((size[1], size[0], 3), i * 40, dtype=np.uint8)).save(tmp_path / f'{i}.png')
    paths = image_metrics.image_files(tmp_path)
    batches = list(image_metrics.read_image_batches(paths, batch=2))
    assert [tuple(b.shape) for b in batches] == [(2, 3, 6, 8), (1, 3, 6, 8), (1, 3, 5, 5)]
    assert batches[1][0, 0, 0, 0] == 80 and batches[0].dtype == torch.uint8
    (tmp_path / 'broken.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='broken.png: not a readable image'):
        list(image_metrics.read_image_batches(image_metrics.image_files(tmp_path), batch=2))
    with pytest.raises(FileNotFoundError, match='0 PNG or JPEG images'):
        image_metrics.image_files(tmp_path / 'empty')
