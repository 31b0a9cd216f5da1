"""entropic: class-conditional entropy H[Z | X_sigma] of diffusion models and its speciation windows.

Modules (one concern each): noise (schedules and coordinate conversions), gmm (Gaussian mixtures,
exact denoisers and posteriors), partitions (semantic partitions), exact (exact entropy curves),
theory (speciation time, two-class closed form), speciation (window fitting), io (atomic writes,
validated reads), configuration (config validation), plotting (figure style).
"""
