"""What the tests share and are not tests themselves: Snakemake as the tests start it, the shared runs, the
shipped configs' runs, tiny networks of the real architectures (random weights, never downloaded), rounding
tolerances of float32 networks (tests/README.md lists them)."""
