"""The ground truth: the noise processes and what is known exactly about them.

noise (VP, VE and flow-matching processes and the one coordinate system, sigma), partitions (the semantic
variable Z and its cells), mixtures (Gaussian mixtures: exact denoisers and posteriors), exact (exact
entropy curves of mixtures by quadrature), point_masses (exact curves of a finite training set),
closed_forms (the speciation time and the two-class closed form). Numpy and scipy only.
"""
