"""Benchmark: training the digits denoiser on one CPU core, the quality of its samples, and memorisation.

Trains the residual-MLP EDM denoiser (entropic.networks.mlp, entropic.networks.training) on all 1797 8x8 digits
with one thread, samples 100 digits per class with the project's sampler (64 EDM steps, sigma 80 ->
0.002, plus the final sigma = 0 step), and reports
- the accuracy of an SVC fitted on the real digits on those samples, unguided (w = 1) and with
  classifier-free guidance w = 2 (target: >= 98% unguided),
- the training wall time and the time to sample 1000 trajectories,
- the fraction of near-copies of training images (entropic.studies.quality.nearest_copies) and the
  nearest-training-image distances, at the chosen length and at `--longer` times as many steps.
Saves a 10 x 10 grid of unguided samples (one row per class) as a PNG.

    python benchmarks/bench_digits_training.py [--steps 2500] [--longer 4] [--png /tmp/digits_samples.png]
"""

import argparse
import time

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from entropic.backends import digits
from entropic.networks import mlp, training
from entropic.theory import noise
from entropic.studies import quality
from entropic.method import sampler

PER_CLASS, STEPS_SAMPLER, SEED = 100, 64, 0
CONFIG = dict(batch_size=256, learning_rate=2e-3, warmup=100, label_dropout=0.15, p_mean=-1.2, p_std=1.2,
              ema_halflife=50_000, ema_rampup=0.1)
NET = dict(width=256, blocks=3, noise_channels=64, max_frequency=16.0)


def train(x, labels, steps):
    torch.manual_seed(SEED)
    net = mlp.EDMPrecond(x.shape[1], digits.NUM_CLASSES, sigma_data=float(x.std()), **NET)
    start = time.perf_counter()
    ema, losses = training.train_denoiser(net, x, labels, steps=steps, seed=SEED, progress=False, **CONFIG)
    return ema, losses, time.perf_counter() - start, mlp.parameter_count(net)


def generate(net, scale):
    labels = torch.arange(digits.NUM_CLASSES).repeat_interleave(PER_CLASS)
    generator = torch.Generator().manual_seed(SEED + 1)
    x_init = noise.EDM_SIGMA_MAX * torch.randn(len(labels), int(np.prod(digits.IMAGE_SHAPE)), generator=generator)
    sigmas = noise.edm_sigma_grid(STEPS_SAMPLER, noise.EDM_SIGMA_MIN, noise.EDM_SIGMA_MAX, noise.EDM_RHO, append_zero=True)
    start = time.perf_counter()
    out = sampler.sample(mlp.NetworkDenoiser(net), sigmas, labels, x_init, generator,
                         guidance=sampler.Guidance(scale=scale))
    return out['x'], labels, time.perf_counter() - start


def save_grid(samples, path):
    images = samples.reshape(digits.NUM_CLASSES, PER_CLASS, *digits.IMAGE_SHAPE)[:, :10].clamp(-1, 1).numpy()
    fig, axes = plt.subplots(10, 10, figsize=(5, 5))
    for k in range(10):
        for j in range(10):
            axes[k, j].imshow(images[k, j], cmap='gray_r', vmin=-1, vmax=1)
            axes[k, j].axis('off')
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    fig.savefig(path, dpi=100, bbox_inches='tight')
    plt.close(fig)


def distances_line(d):
    q = np.quantile(d, [0.01, 0.05, 0.5, 0.95])
    return f'nearest-training-image L2: 1% {q[0]:.2f}, 5% {q[1]:.2f}, median {q[2]:.2f}, 95% {q[3]:.2f}'


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=2500, help='training steps of the chosen configuration')
    parser.add_argument('--longer', type=float, default=4.0, help='factor of the longer (memorisation) run; 0 skips it')
    parser.add_argument('--png', default='/tmp/digits_samples.png', help='where to save the 10 x 10 sample grid')
    args = parser.parse_args()
    torch.set_num_threads(1)

    x, labels = digits.load_digits()
    x_fit, x_test, y_fit, y_test = train_test_split(x.numpy(), labels.numpy(), test_size=0.3, random_state=SEED,
                                                    stratify=labels.numpy())
    held_out = quality.classifier_accuracy(quality.reference_classifier(x_fit, y_fit, SEED), x_test, y_test)
    clf = quality.reference_classifier(x, labels, SEED)
    real_nn = quality.nearest_distances(x, x, exclude_self=True)
    threshold = quality.copy_threshold(x)
    print(f'reference SVC: held-out accuracy {held_out:.4f} (70/30 split); final classifier fitted on all 1797 digits')
    print(f'real digits, {distances_line(real_nn)} (min {real_nn.min():.2f}); '
          f'copy threshold {threshold:.3f} = {quality.COPY_FRACTION:.3f} x median')
    print(f'training config: {CONFIG}, net {NET}, sigma_data {float(x.std()):.4f}, one thread')

    runs = [args.steps] + ([int(round(args.longer * args.steps))] if args.longer > 0 else [])
    results = {}
    for steps in runs:
        net, losses, seconds, params = train(x, labels, steps)
        print(f'\n== {steps} steps ({steps * CONFIG["batch_size"] / len(x):.0f} epochs), {params:,} parameters ==')
        print(f'training wall time {seconds:.1f} s ({1e3 * seconds / steps:.1f} ms/step); '
              f'loss first 50 steps {losses[:50].mean():.3f}, last 200 steps {losses[-200:].mean():.3f}')
        for scale in (1.0, 2.0):
            samples, sample_labels, sample_seconds = generate(net, scale)
            accuracy = quality.classifier_accuracy(clf, samples, sample_labels)
            nearest = quality.nearest_distances(samples, x)
            copies = quality.nearest_copies(samples, x, threshold)
            print(f'w = {scale:g}: SVC accuracy {accuracy:.4f}; near-copies {copies:.4f}; {distances_line(nearest)}; '
                  f'sampling {len(samples)} x {STEPS_SAMPLER} steps {sample_seconds:.2f} s')
            results[steps, scale] = dict(accuracy=accuracy, copies=copies, median=np.median(nearest), seconds=seconds)
            if steps == args.steps and scale == 1.0:
                save_grid(samples, args.png)
                print(f'saved the 10 x 10 grid of unguided samples to {args.png}')

    if len(runs) == 2:
        short, long = runs
        r = lambda key, scale=1.0: results[long, scale][key] / results[short, scale][key]
        print(f'\n{long} vs {short} steps: training time x{r("seconds"):.2f}; median nearest-training-image distance '
              f'x{r("median"):.3f} (w = 1), x{r("median", 2.0):.3f} (w = 2); real digits median {np.median(real_nn):.2f}; '
              f'near-copies {results[short, 1.0]["copies"]:.4f} -> {results[long, 1.0]["copies"]:.4f} (w = 1)')
