"""The paper's method: sampler (stochastic DDIM and EDM's Heun with classifier-free guidance, tracking every
hypothesis's posterior along the way; tracker_step is the eq. 6 update), posterior (the tracked and I-MMSE
readouts of H[Z | X_sigma]), denoisers (the denoiser interface; the exact mixture denoiser), speciation (the
window fit), schedules (sampler grids placed by the entropy), placement (guidance placed by a window),
runs (one sampling run: its guidance and readout)."""
