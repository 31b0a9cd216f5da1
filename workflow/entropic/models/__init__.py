"""The networks of the pretrained model families, as denoisers in EDM coordinates: EDM2 (edm2.py), Stable
Diffusion 1.5 and 2.1 (sd15.py), DiT (dit.py) and Stable Diffusion 3 (sd3.py). What the pipeline asks of each
family is its backend (entropic.backends).
"""
