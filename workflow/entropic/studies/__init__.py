"""Studies built on the method, and their metrics: guidance_study (guidance methods compared by quality and
diversity), sample_metrics (the quality and diversity of samples: Frechet distance, k-nearest-neighbour precision
and recall, spread, exact mixture metrics, confidence intervals over folds), schedule_study (what an
entropy-placed grid buys at few steps), image_metrics (FID and FD-DINOv2), quality (the digits' classifier
accuracy and memorisation), flow_shift (a rectified-flow sampler's steps against the window),
mixture_estimators (every tracker variant and I-MMSE on exact mixtures), peers (published numbers beside ours),
cloning (Biroli et al.'s cloning experiment on any denoiser)."""
