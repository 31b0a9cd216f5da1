"""The networks of the pretrained model families, as denoisers in EDM coordinates: EDM2 (edm2.py) and Stable
Diffusion 1.5 (sd15.py). What the pipeline asks of each family is its backend (entropic.backends).
"""
