"""The 8x8 handwritten digits (scikit-learn's bundled copy of the UCI set): the trained-network experiment's data.

1797 grey-level images, 8x8 pixels with values 0..16, ten classes. Shipped inside scikit-learn, so
nothing is ever downloaded. Pixels are mapped to [-1, 1] by x = pixel / 8 - 1 and flattened row-major.
"""

IMAGE_SHAPE = (8, 8)    # rows, columns of one image
NUM_CLASSES = 10        # the digits 0..9

#----------------------------------------------------------------------------

def load_digits():
    """All digits: x [1797, 64] float32 in [-1, 1], labels [1797] long in 0..9."""
    import torch                        # here, so that the constants import without torch (config validation)
    from sklearn import datasets
    bunch = datasets.load_digits()
    x = torch.as_tensor(bunch.data / 8 - 1, dtype=torch.float32)       # pixels 0..16 -> [-1, 1]
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    return x, labels
