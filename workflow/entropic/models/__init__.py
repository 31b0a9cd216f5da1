"""The networks of the pretrained model families, as denoisers in EDM coordinates: EDM2 (edm2.py), and any diffusers
pipeline read from its own files (diffusers_folder.py, text_encoders.py, diffusers_denoiser.py,
diffusers_pipeline.py), which Stable Diffusion 1.5, 2.1 and 3 and DiT are presets of. What the pipeline asks of each
family is its backend (entropic.backends).
"""
