"""Rule reference_statistics: FID and FD-DINOv2 statistics (mean, covariance) of a folder of real images."""

import os

import torch
from tqdm import tqdm

from entropic.networks import dinov2, inception
from entropic.studies import image_metrics
from entropic.files import job_log

log = job_log.start(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
device = 'cuda' if torch.cuda.is_available() else 'cpu'
paths = image_metrics.image_files(snakemake.input.images)
networks = {'fid': inception.load_inception(snakemake.input.inception, device),
            'fd_dinov2': dinov2.load_dinov2(os.path.dirname(snakemake.input.dinov2[0]), device)}
log.info(f'{len(paths)} images in {snakemake.input.images}; feature networks on {device}')
batches = image_metrics.read_image_batches(tqdm(paths, desc='reference images', unit='image'), snakemake.params.batch)
features = image_metrics.image_features(networks, batches, device)
image_metrics.write_reference(snakemake.output[0], {m: image_metrics.statistics(f) for m, f in features.items()},
                              len(paths))
log.info(', '.join(f'{m}: {f.shape[1]}-d features' for m, f in features.items()))
