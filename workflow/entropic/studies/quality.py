"""Quality checks of generated digits: a reference classifier of real digits and a memorisation test.

- reference_classifier: an RBF support-vector classifier fitted on real digits in [-1, 1] pixels
  (about 99% held-out accuracy on the 8x8 digits); the accuracy of its predictions on generated
  samples against the classes they were drawn from measures class fidelity.
- nearest_copies: the fraction of samples whose nearest training image lies closer than a
  threshold in L2. Between distinct real digits the nearest-neighbour distance has median ~2.0
  (min 0.66, 1% quantile 1.17, in [-1, 1] pixel units over 64 pixels); the default threshold,
  COPY_FRACTION = 1/3 of that median (~0.67), is below the closest pair of distinct real digits,
  so a sample that close is a near-copy of a training image, not a new digit.
"""

import numpy as np
import torch
from sklearn.svm import SVC

COPY_FRACTION = 1 / 3     # default copy threshold, as a fraction of the median real nearest-neighbour distance

#----------------------------------------------------------------------------

def as_rows(x):
    """[N, ...] tensor or array -> [N, D] float64 numpy."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)

def reference_classifier(x_real, labels, seed=0):
    """SVC(gamma='scale') fitted on real digits x_real [N, 64] in [-1, 1] with labels [N]."""
    clf = SVC(gamma='scale', random_state=seed)
    clf.fit(as_rows(x_real), as_rows(labels).reshape(-1).astype(np.int64))
    return clf

def classifier_accuracy(clf, samples, labels):
    """Fraction of samples [N, ...] that `clf` assigns to their labels [N]."""
    predicted = clf.predict(as_rows(samples))
    return float(np.mean(predicted == as_rows(labels).reshape(-1).astype(np.int64)))

#----------------------------------------------------------------------------

def nearest_distances(samples, train, exclude_self=False):
    """L2 distance of every sample [N, ...] to its nearest row of train [M, ...]; [N] float64.
    exclude_self: samples is train itself, skip the zero distance of each row to itself."""
    a, b = torch.as_tensor(as_rows(samples)), torch.as_tensor(as_rows(train))
    nearest = []
    for start in range(0, len(a), 1024):       # [1024, M] distance blocks
        d = torch.cdist(a[start:start + 1024], b)
        if exclude_self:
            rows = torch.arange(start, start + len(d))
            d[rows - start, rows] = float('inf')
        nearest.append(d.min(1).values)
    return torch.cat(nearest).numpy()

def copy_threshold(train, fraction=COPY_FRACTION):
    """fraction x the median nearest-neighbour distance between distinct rows of train."""
    return fraction * float(np.median(nearest_distances(train, train, exclude_self=True)))

def nearest_copies(samples, train, threshold=None):
    """Fraction of samples whose nearest training image is closer than threshold (None: copy_threshold(train))."""
    threshold = copy_threshold(train) if threshold is None else threshold
    return float(np.mean(nearest_distances(samples, train) < threshold))
