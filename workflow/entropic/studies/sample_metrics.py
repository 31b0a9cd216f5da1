"""Quality and diversity of generated samples against the data, the metrics of the guidance study
(entropic.studies.guidance_study), as means over disjoint class-balanced folds of the samples with Student-t
confidence intervals (`replicate_metrics`):
- trained on real digits (`feature_metrics`): the accuracy of a reference classifier, the Frechet distance
  between Gaussians fitted to real and generated features of a small MLP classifier (FD, as FID does with
  Inception features), per-class precision and recall with k-nearest-neighbour balls in that feature space
  (Kynkäänniemi et al. 2019), and the within-class spread relative to the real digits';
- on a Gaussian mixture, exact (`mixture_metrics`): the class-assignment accuracy under the exact posterior,
  and the KL divergence from each class's generated distribution (a Gaussian fit in the span of the means,
  isotropic outside it) to its true component.
The Frechet distance and the spread serve FID and FD-DINOv2 too (entropic.studies.image_metrics).
"""

import math

import numpy as np
import scipy.stats
import torch

#----------------------------------------------------------------------------
# Metrics on features of a classifier trained on real data (digits).

def feature_network(x_real, labels, seed=0, hidden=64):
    """A one-hidden-layer ReLU classifier of real data; its hidden layer is the feature space of FD and P/R."""
    from sklearn.neural_network import MLPClassifier
    net = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=600, random_state=seed)
    net.fit(np.asarray(x_real, dtype=np.float64).reshape(len(x_real), -1), np.asarray(labels))
    return net

def features(net, x):
    """Hidden-layer activations of feature_network for rows x [N, ...]; [N, hidden]."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return np.maximum(x @ net.coefs_[0] + net.intercepts_[0], 0.0)

def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """|m_a - m_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^1/2) between two Gaussians (Heusel et al. 2017); the trace of
    the root through the symmetric C_a^1/2 C_b C_a^1/2, which stays exact for singular covariances."""
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)

def frechet_distance_of_samples(features, mean_b, cov_b):
    """frechet_distance between the Gaussian of the rows of `features` [n, d] (their mean and covariance, n - 1)
    and (mean_b, cov_b), computed from the rows. With A the centred rows over sqrt(n - 1), C_a = A^T A, and
    C_a^1/2 C_b C_a^1/2 has the nonzero eigenvalues of the n x n matrix A C_b A^T: for n < d (a fold of 100
    images in Inception's 2048-d features) the cross term is one n x n eigenproblem instead of two d x d ones,
    and C_a is never formed. ValueError for fewer than 2 rows."""
    features = np.asarray(features, dtype=np.float64)
    n, d = features.shape
    if n < 2:
        raise ValueError(f'{n} feature rows: need at least 2 for a covariance')
    mean_a = features.mean(0)
    if n >= d:
        return frechet_distance(mean_a, np.cov(features, rowvar=False), mean_b, cov_b)
    A = (features - mean_a) / np.sqrt(n - 1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(A @ cov_b @ A.T), 0, None)).sum()
    return float(np.sum((mean_a - mean_b) ** 2) + np.sum(A * A) + np.trace(cov_b) - 2 * cross)

def knn_radii(points, k):
    """Distance of every row to its k-th nearest other row; [N]."""
    d = torch.cdist(torch.as_tensor(points), torch.as_tensor(points))
    return torch.kthvalue(d, k + 1, dim=1).values.numpy()      # +1: the row itself at distance 0

def coverage(points, balls, radii):
    """Fraction of `points` inside at least one ball (centres `balls`, radii `radii`)."""
    d = torch.cdist(torch.as_tensor(points), torch.as_tensor(balls)).numpy()
    return float(np.mean((d <= radii[None, :]).any(axis=1)))

def precision_recall(real, fake, k=3):
    """Improved precision (fake inside the real k-NN manifold) and recall (real inside the fake one)."""
    return coverage(fake, real, knn_radii(real, k)), coverage(real, fake, knn_radii(fake, k))

def spread(points):
    """Mean distance of the rows to their centroid."""
    return float(np.mean(np.linalg.norm(points - points.mean(0), axis=1)))

class FeatureReference:
    """The real data's side of feature_metrics: features, their Gaussian, per-class features and spreads."""

    def __init__(self, net, classifier, x_real, labels_real):
        self.net, self.classifier = net, classifier
        self.f = features(net, x_real)
        self.labels = np.asarray(labels_real)
        self.mean, self.cov = self.f.mean(0), np.cov(self.f, rowvar=False)
        self.classes = np.unique(self.labels)
        self.per_class = {k: self.f[self.labels == k] for k in self.classes}
        self.spread = {k: spread(v) for k, v in self.per_class.items()}

def feature_metrics(reference, x, labels, k=3):
    """accuracy, fd, precision, recall (per class, averaged), spread_ratio (generated / real, averaged)."""
    labels = np.asarray(labels)
    f = features(reference.net, x)
    accuracy = float(np.mean(reference.classifier.predict(np.asarray(x).reshape(len(x), -1)) == labels))
    fd = frechet_distance(f.mean(0), np.cov(f, rowvar=False), reference.mean, reference.cov)
    pr, ratios = [], []
    for c in reference.classes:
        fake = f[labels == c]
        if len(fake) <= k:
            raise ValueError(f'{len(fake)} samples of class {c} for {k}-nearest-neighbour precision and recall: '
                             'raise guidance_study.samples or lower its folds or neighbours')
        pr.append(precision_recall(reference.per_class[c], fake, k))
        ratios.append(spread(fake) / reference.spread[c])
    precision, recall = np.mean(pr, axis=0)
    return dict(accuracy=accuracy, fd=fd, precision=float(precision), recall=float(recall),
                spread_ratio=float(np.mean(ratios)))

#----------------------------------------------------------------------------
# Exact metrics on a Gaussian mixture.

def mixture_metrics(mixture, x, labels):
    """accuracy (exact posterior argmax = label) and kl (mean over classes of KL(generated || component)).

    Each class's samples are fitted by a Gaussian that is diagonal in the principal axes of the means (the
    directions guidance moves them along) and isotropic in their orthogonal complement; the KL of that fit
    to the true component N(m_k, v0 I) is in closed form, corrected for its small-sample bias: exactly for the
    mean term (d / 2n nats, large in high dimension), to first order in 1/n for the variance terms."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    labels = np.asarray(labels)
    accuracy = float(np.mean(mixture.log_posterior(x, 0.0).argmax(1) == labels))
    centred = mixture.means - mixture.means.mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    basis = axes[singular > 1e-9 * singular.max()]                     # [r, d] orthonormal
    r, d = len(basis), x.shape[1]
    v0 = mixture.variance
    kls = []
    for k in np.unique(labels):
        rows = x[labels == k]
        inside = rows @ basis.T                                            # [n, r]
        outside = rows - inside @ basis
        mean_in, var_in = inside.mean(0), inside.var(0, ddof=1)
        mean_out = outside.mean(0)
        var_out = float(np.sum((outside - mean_out) ** 2) / ((len(rows) - 1) * max(d - r, 1)))
        m_in = basis @ mixture.means[k]
        m_out = mixture.means[k] - m_in @ basis
        n = len(rows)
        kl = 0.5 * np.sum(var_in / v0 - 1 - np.log(var_in / v0))                     # 1-d KLs along the axes
        kl += 0.5 * (d - r) * (var_out / v0 - 1 - math.log(var_out / v0))            # and the isotropic rest
        # The mean term without its sampling bias: E|mean - m|^2 = |mu - m|^2 + tr(Sigma) / n.
        trace = np.sum(var_in) + (d - r) * var_out
        kl += 0.5 * (np.sum((mean_in - m_in) ** 2) + np.sum((mean_out - m_out) ** 2) - trace / n) / v0
        kl -= 0.5 * (r + 1) / (n - 1)     # the first-order bias of the fitted variances' terms (delta method)
        kls.append(kl)
    return dict(accuracy=accuracy, kl=float(np.mean(kls)))

#----------------------------------------------------------------------------

def only(metrics, names):
    """metrics(x, labels) -> dict, restricted to the keys `names` (None: every key); ValueError naming a key
    it does not give."""
    if names is None:
        return metrics

    def restricted(x, labels):
        row = metrics(x, labels)
        unknown = [name for name in names if name not in row]
        if unknown:
            raise ValueError(f'no metric {unknown}: these samples are measured by {list(row)}')
        return {name: row[name] for name in names}
    return restricted

def replicate_metrics(metrics, x, labels, folds, ci_level=0.95):
    """metrics(x, labels) -> dict, on `folds` disjoint class-balanced folds of the samples; returns {name: mean
    over folds, name_lo, name_hi: Student-t interval of that mean}. Disjoint folds, not a bootstrap: resampling
    with replacement duplicates samples, which biases nearest-neighbour and Frechet metrics."""
    labels = np.asarray(labels)
    rank = np.empty(len(labels), dtype=int)
    for c in np.unique(labels):                        # the i-th sample of each class goes to fold i mod folds
        rows = np.flatnonzero(labels == c)
        rank[rows] = np.arange(len(rows)) % folds
    values = [metrics(x[rank == f], labels[rank == f]) for f in range(folds)]
    t = scipy.stats.t.ppf((1 + ci_level) / 2, folds - 1)
    out = {}
    for name in values[0]:
        v = np.array([row[name] for row in values])
        half = t * v.std(ddof=1) / math.sqrt(folds)
        out[name], out[f'{name}_lo'], out[f'{name}_hi'] = v.mean(), v.mean() - half, v.mean() + half
    return out
