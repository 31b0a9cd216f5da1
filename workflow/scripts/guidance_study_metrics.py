"""Rule guidance_study_metrics: quality and diversity of every method's samples, with CIs over disjoint folds.
Digits: classifier accuracy, FD, precision, recall and spread in a real-digit classifier's feature space.
Gaussian mixture: exact class-assignment accuracy and KL to the true components.
Pretrained models (edm2, sd15): the latents decoded to uint8 images, then FID and FD-DINOv2 against the
reference statistics, and the within-class spread of the DINOv2 features."""

import json
import os

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from entropic import gmm, guidance_study, image_metrics, io, quality, trained

log = io.job_logger(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
data = io.load_npz(snakemake.input.samples, keys=['labels', 'methods'])    # every array of the file, read once
methods, labels = json.loads(str(data['methods'])), data['labels']
backend = snakemake.params.data['backend']

def samples(name):
    if f'x/{name}' not in data:
        raise ValueError(f'{snakemake.input.samples}: missing arrays [{f"x/{name}"!r}]')
    return data[f'x/{name}']

if backend in ('edm2', 'sd15'):
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    batch = snakemake.params.batch
    decode = trained.load_decoder(backend, os.path.dirname(snakemake.input.vae[0]), device)
    networks = {'fid': image_metrics.load_inception(snakemake.input.inception, device),
                'fd_dinov2': image_metrics.load_dinov2(os.path.dirname(snakemake.input.dinov2[0]), device)}
    reference = image_metrics.read_reference(snakemake.input.statistics)
    log.info(f'{snakemake.input.statistics}: reference statistics; feature networks on {device}')

    def method_metrics(name):
        latents = samples(name)
        batches = (image_metrics.to_uint8(decode(latents[i:i + batch]))
                   for i in tqdm(range(0, len(latents), batch), desc=f'{name}: decode, features', unit='batch'))
        features = image_metrics.image_features(networks, batches, device)
        image_metrics.check_features(features, reference, snakemake.input.statistics)
        rows = np.arange(len(latents))       # the folds index the images; metrics read their features
        return guidance_study.replicate_metrics(
            lambda r, y: image_metrics.sample_metrics(features, reference, r, y), rows, labels,
            snakemake.params.study['folds'])
else:
    if backend == 'exact-mixture':
        mixture = gmm.load_mixture(snakemake.input.means, io.read_json(snakemake.input.mixture))
    else:
        x_real, labels_real, _, mixture = trained.training_data(snakemake.params.data, snakemake.input,
                                                                snakemake.params.data_seed)
    if mixture is not None:
        metrics = lambda x, y: guidance_study.mixture_metrics(mixture, x, y)
    else:
        reference = guidance_study.FeatureReference(
            guidance_study.feature_network(x_real.numpy(), labels_real.numpy(), seed=snakemake.params.seed),
            quality.reference_classifier(x_real, labels_real), x_real.numpy(), labels_real.numpy())
        metrics = lambda x, y: guidance_study.feature_metrics(reference, x, y, k=snakemake.params.study['neighbours'])

    def method_metrics(name):
        return guidance_study.replicate_metrics(metrics, samples(name), labels, snakemake.params.study['folds'])

rows = []
for name, info in methods.items():
    row = method_metrics(name)
    rows.append(dict(model=snakemake.wildcards.name, set=snakemake.wildcards.set, method=name, samples=len(labels),
                     **info, **row))
    log.info(f"{name}: " + ', '.join(f'{k} {row[k]:.4g} [{row[k + "_lo"]:.4g}, {row[k + "_hi"]:.4g}]'
                                       for k in row if not k.endswith(('_lo', '_hi'))))
io.write_csv(pd.DataFrame(rows), snakemake.output[0])
