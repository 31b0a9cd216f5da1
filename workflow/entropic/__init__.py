"""entropic: class-conditional entropy H[Z | X_sigma] of diffusion models and its speciation windows.

Modules (one concern each):
- theory and ground truth: noise (schedules and coordinate conversions), gmm (Gaussian mixtures, exact
  denoisers and posteriors), partitions (semantic partitions), exact (exact entropy curves of mixtures),
  empirical (exact entropy curves of a finite training set), theory (speciation time, two-class closed form);
- estimators: denoisers (the denoiser interface, exact mixture denoisers), sampler (stochastic DDIM with
  guidance and online posterior tracking; EDM's deterministic Heun), posterior (tracked readouts, I-MMSE), gmm_estimators (both on
  mixtures, every tracker variant), speciation (window fitting);
- models: backends (one module per model family behind one contract: what the pipeline asks of a model),
  runs (a sampling run: its guidance and readout), trajectories (hypotheses in play, sharded tracked
  trajectories); networks, training, digits, quality (the networks trained in the DAG and their data);
  the package models (the pretrained networks in EDM coordinates: models.edm2 EDM2; any diffusers pipeline
  read from its own files: models.diffusers_folder (index, scheduler, VAE, dtype), models.text_encoders
  (prompt files, each pipeline's text encoding), models.diffusers_denoiser (the denoiser of any diffusers
  network), models.diffusers_pipeline (what a folder is, its denoiser loaded), which the Stable Diffusion 1.5,
  2.1 and 3 and DiT backends are presets of), imagenet (the ImageNet-1k class list),
  download (resumable downloads of weights, whole diffusers pipelines);
- beyond the paper: placement (guidance placed by a fitted window), guidance_study (the methods compared
  and their quality and diversity metrics), image_metrics (FID and FD-DINOv2 of pretrained models' images),
  flow_shift (where a rectified-flow sampler's steps, SD3's resolution shift, fall against the window),
  schedules (sampler grids at equal steps of the entropic time, its rescaled form or the class entropy),
  schedule_study (what a grid buys at few function evaluations, exact on mixtures);
- checked against peers: peers (published numbers, Biroli et al.'s clone agreement, beside our exact values),
  cloning (their cloning experiment on any denoiser);
- pipeline: io (atomic writes, validated reads), paths (where every output lies under results/), targets (what
  `all` builds, as each rule file registers it; the generated window-fit rules), tracks (the experiments' and
  the models' track, one object each: what the rules and jobs ask of either), configuration
  (config validation), provenance (what a job records of its settings: one text for equal values), plotting
  (figure style).

Data: config.schema.yaml (the config's JSON Schema, defaults and descriptions), data/ (Biroli et al.'s
published clone-agreement points, the ImageNet class list).
"""
