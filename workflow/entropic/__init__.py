"""entropic: class-conditional entropy H[Z | X_sigma] of diffusion models and its speciation windows.

Role packages, each importing only those listed before it (tests/test_layout.py keeps the order):

- theory: the ground truth (noise processes and coordinates, partitions, mixtures, exact curves,
  point masses, closed forms);
- files: what jobs read and write (paths, store, curve_table, job_log, download, hub);
- method: the paper's estimator (sampler and its tracker, posterior readouts and I-MMSE, denoisers,
  speciation windows, schedules, placement, runs);
- networks: the denoiser networks (the trained mlp, EDM2's U-Net, any diffusers pipeline, text encoders) and
  the image metrics' feature networks (Inception-v3, DINOv2);
- studies: what is built on the method, with its metrics (guidance and schedule studies, image metrics,
  quality, flow shift, the estimators on mixtures, peers, cloning);
- backends: one module per model family behind one contract (entropic.backends.base);
- pipeline: the glue to the rules (configuration, provenance, tracks, targets, trajectories, plotting).

Data: config.schema.yaml (the config's JSON Schema, defaults and descriptions), data/ (Biroli et al.'s
published clone-agreement points, the ImageNet class list).
"""
