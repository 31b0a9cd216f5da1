"""Backends for pretrained models that run on a GPU: EDM2 (edm2.py) and Stable Diffusion 1.5 (sd15.py).

Each wraps its network as a denoiser of entropic.denoisers, D(x, sigma, labels) in EDM coordinates.
"""
