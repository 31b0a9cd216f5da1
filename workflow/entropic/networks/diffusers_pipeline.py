"""What a diffusers pipeline folder is, read from its files alone, and its denoiser loaded from them.

`describe` reads model_index.json, the denoiser's config, the VAE's and the scheduler's (no weights, no diffusers
import) and says what the method needs: the denoiser component and class, how it is conditioned (class labels with a
null label, or prompts encoded as the pipeline class encodes them), the noise process and parametrisation, whether
the output carries a learned variance, and the shape of a sample (latents of the VAE, or pixels). What cannot be
honoured is refused there by name, with the reason, so that a config check and a sampling job refuse the same things
in the same words: guidance-distilled networks (no unconditional branch), image-conditioned ones, a flow network with
a learned variance, the scheduler keys of diffusers_folder.REFUSED. `load_denoiser` builds the
DiffusersDenoiser (entropic.networks.diffusers_denoiser) of the hypotheses in play.
"""

import dataclasses
import pathlib

from entropic.networks import diffusers_folder, text_encoders
from entropic.networks.diffusers_denoiser import DiffusersDenoiser, class_table

#----------------------------------------------------------------------------

# The denoiser classes the backend reads, with how each is conditioned ('classes' or 'prompts').
DENOISERS = {
    'UNet2DModel':              'classes',
    'DiTTransformer2DModel':    'classes',
    'UNet2DConditionModel':     'prompts',
    'PixArtTransformer2DModel': 'prompts',
    'SD3Transformer2DModel':    'prompts',
}
# The pipeline classes whose prompt encoding (text_encoders.ENCODINGS) each prompt-conditioned denoiser reads.
PROMPT_PIPELINES = {
    'UNet2DConditionModel':     ('StableDiffusionPipeline', 'StableDiffusionXLPipeline'),
    'PixArtTransformer2DModel': ('PixArtAlphaPipeline', 'PixArtSigmaPipeline'),
    'SD3Transformer2DModel':    ('StableDiffusion3Pipeline',),
}

def guidance_distilled(what, how, example='stabilityai/stable-diffusion-3-medium-diffusers'):
    """The one-line refusal of a guidance-distilled model: `what` names it, `how` says how it was distilled."""
    return (f'{what} is guidance-distilled ({how}): it was never trained without its condition, so it has no '
            "unconditional branch, and neither the paper's binary form <k>-vs-reference (a hypothesis against the "
            'unconditional reference) nor classifier-free guidance can be evaluated; use a model trained with '
            f'condition dropout, such as {example}')

@dataclasses.dataclass
class Pipeline:
    """What the method needs to know of a diffusers pipeline folder (`describe`)."""
    folder:     pathlib.Path
    index:      dict        # model_index.json
    component:  str         # the denoiser's component folder: 'unet' or 'transformer'
    cls:        str         # its class, one of DENOISERS
    network:    dict        # its config.json
    scheduler:  dict        # the scheduler config, checked, with its class's defaults (diffusers_folder.scheduler_config)
    vae:        dict        # the VAE's config.json, None for a pixel-space model
    conditioning: str       # 'classes' or 'prompts'

    @property
    def flow(self):
        """Whether the network is a rectified-flow (velocity) model."""
        return self.scheduler['_process'] == 'flow'

    @property
    def learned_variance(self):
        """Whether the output holds ADM's learned variance after the prediction (twice the input channels)."""
        return self.network.get('out_channels') == 2 * self.network['in_channels']

    @property
    def factor(self):
        """Pixels per latent side (the VAE's downsampling), 1 for a pixel-space model."""
        return 1 if self.vae is None else diffusers_folder.vae_scale_factor(self.vae)

    def resolution(self, resolution=None):
        """The image side in pixels: `resolution` where given, else the network's native sample size."""
        return int(resolution) if resolution else int(self.network['sample_size']) * self.factor

    def shape(self, resolution=None):
        """(C, h, w) of one sample at `resolution` pixels a side; ValueError where the side is not a multiple of the
        VAE's downsampling times the transformer's patch, or exceeds SD3's positional embedding."""
        side = self.resolution(resolution)
        step = self.factor * self.network.get('patch_size', 1) if self.component == 'transformer' else self.factor
        if side % step:
            raise ValueError(f'resolution {side}: must be a multiple of {step} for {self.folder} (the VAE downsamples '
                             f"by {self.factor}, the network takes {step // self.factor} x {step // self.factor} patches)")
        largest = self.network.get('pos_embed_max_size')
        if largest is not None and side // step > largest:
            raise ValueError(f'resolution {side}: the transformer of {self.folder} has positional embeddings for at '
                             f'most {largest * step} px')
        return int(self.network['in_channels']), side // self.factor, side // self.factor

    def class_embeddings(self):
        """How many class embeddings a class-conditional network has (DiT: its classes and the dropout row)."""
        if self.cls == 'DiTTransformer2DModel':
            return int(self.network['num_embeds_ada_norm']) + 1
        return int(self.network['num_class_embeds'])

    def null_label(self, given=None):
        """The class index of the unconditional branch: `given`, else the last class embedding (the one diffusers'
        DiT and the usual label-dropout training append); ValueError outside the embeddings."""
        count = self.class_embeddings()
        null = count - 1 if given is None else int(given)
        if not 0 <= null < count:
            raise ValueError(f'null_label {null}: {self.folder}/{self.component} has class embeddings 0..{count - 1}')
        return null

def legacy_class(cls, config):
    """The class diffusers loads a legacy `Transformer2DModel` config as (its norm_type says which: DiT's
    'ada_norm_zero', PixArt's 'ada_norm_single'; facebook/DiT-XL-2-256 and PixArt-alpha's configs name the legacy
    class); any other class as it is."""
    if cls == 'Transformer2DModel':
        return {'ada_norm_zero': 'DiTTransformer2DModel', 'ada_norm_single': 'PixArtTransformer2DModel'}.get(
            config.get('norm_type'), cls)
    return cls

def describe(folder, vae=None):
    """The Pipeline of a local diffusers folder, from its JSON files alone (with the VAE of the folder `vae` in
    place of the pipeline's own, where given); FileNotFoundError for a missing file, ValueError naming the file and
    the reason for anything the backend cannot honour."""
    folder = pathlib.Path(folder)
    components, index = diffusers_folder.read_index(folder)
    denoisers = [name for name in ('unet', 'transformer') if name in components]
    if not denoisers:
        raise ValueError(f'{folder}/model_index.json: no unet or transformer component; not a diffusion pipeline')
    component = denoisers[0]
    network = diffusers_folder.read_json(folder / component / 'config.json')
    cls = legacy_class(components[component], network)
    where = f'{folder}/{component}'
    if network.get('guidance_embeds'):
        raise ValueError(guidance_distilled(f'{folder}: the pipeline', 'its transformer config sets guidance_embeds: '
                                            'the guidance scale is an input of the network'))
    if network.get('time_cond_proj_dim'):
        raise ValueError(guidance_distilled(f'{folder}: the pipeline', 'its UNet config sets time_cond_proj_dim: the '
                                            'guidance scale is an input of the network (LCM distillation)'))
    if cls not in DENOISERS:
        raise ValueError(f'{where}: a {cls}; the diffusers backend reads {", ".join(DENOISERS)}')
    conditioning = DENOISERS[cls]
    if cls == 'UNet2DModel' and not network.get('num_class_embeds'):
        raise ValueError(f'{where}: an unconditional UNet2DModel (no num_class_embeds) has no hypotheses to track; '
                         'the method needs a class- or prompt-conditional model')
    if cls == 'UNet2DConditionModel':
        if network.get('class_embed_type') or network.get('num_class_embeds'):
            raise ValueError(f'{where}: the UNet also takes class labels (class_embed_type, num_class_embeds), which '
                             'the backend does not set; it reads prompt-conditioned UNets')
        added = network.get('addition_embed_type')
        if added not in (None, 'text_time') or (added == 'text_time') != (index['_class_name'] == 'StableDiffusionXLPipeline'):
            raise ValueError(f"{where}: addition_embed_type {added!r} in a {index['_class_name']}; the backend reads "
                             "SDXL's 'text_time' in a StableDiffusionXLPipeline and none elsewhere")
    if conditioning == 'prompts':
        text_encoders.encoding(index, folder)      # refuses a pipeline class whose prompts it cannot encode
        if index['_class_name'] not in PROMPT_PIPELINES[cls]:
            raise ValueError(f"{folder}/model_index.json: a {index['_class_name']} with a {cls}; the backend encodes "
                             f"the prompts of a {cls} as {' or '.join(PROMPT_PIPELINES[cls])} does")
    scheduler = diffusers_folder.scheduler_config(folder)
    vae = (diffusers_folder.read_json(pathlib.Path(vae) / 'config.json') if vae is not None else
           diffusers_folder.read_json(folder / 'vae' / 'config.json') if 'vae' in components else None)
    if vae is not None and vae.get('latent_channels', network['in_channels']) != network['in_channels']:
        raise ValueError(f"{where}: {network['in_channels']} input channels for the VAE's {vae['latent_channels']} "
                         'latent channels: an image-conditioned network (inpainting, upscaling), which the backend '
                         'does not condition')
    pipeline = Pipeline(folder, index, component, cls, network, scheduler, vae, conditioning)
    if pipeline.flow and pipeline.learned_variance:
        raise ValueError(f'{where}: a flow network with twice the input channels in its output; the backend reads a '
                         'learned variance only of DDPM networks')
    if pipeline.flow != (cls == 'SD3Transformer2DModel'):
        raise ValueError(f"{folder}/scheduler: a {scheduler['_class_name']} for a {cls}; the backend reads "
                         'FlowMatchEulerDiscreteScheduler configs with SD3 transformers and DDPM schedulers with the '
                         'others')
    return pipeline

def load_denoiser(
    folder,                     # local diffusers pipeline folder
    hypotheses,                 # the labels in play: class indices, or the K prompts (strings) in label order
    device     = 'cpu',
    dtype      = None,          # the networks' dtype; None: diffusers_folder.network_dtype(device)
    max_batch  = 32,            # most rows per network call
    null_label = None,          # a class-conditional network's null label; None: its last class embedding
    resolution = None,          # image side in pixels; None: the network's native size
    source     = 'the prompt file',   # where prompts come from, for messages
    vae        = None,          # a VAE folder in place of the pipeline's own (describe)
):
    """(DiffusersDenoiser, Pipeline) of the pipeline in `folder` for the hypotheses in play (describe refuses what it
    cannot honour). For prompts, label k is prompt k; for classes, label k is class index k. ValueError naming the
    folder where the hypotheses do not fit the network's conditioning."""
    pipeline = describe(folder, vae)
    dtype = diffusers_folder.network_dtype(device) if dtype is None else dtype
    if pipeline.conditioning == 'prompts':
        if not all(isinstance(h, str) for h in hypotheses):
            raise ValueError(f'{folder}: a prompt-conditioned {pipeline.cls}; give a prompt file, not class indices')
        config = {'resolution': pipeline.resolution(resolution),
                  'use_additional_conditions': pipeline.network.get('use_additional_conditions')
                  if pipeline.network.get('use_additional_conditions') is not None
                  else pipeline.network.get('sample_size') == 128}
        table = text_encoders.encode(folder, pipeline.index, list(hypotheses), config, device, dtype, source)
    else:
        if not all(isinstance(h, int) for h in hypotheses):
            raise ValueError(f'{folder}: a class-conditional {pipeline.cls}; give a partition file of class indices, '
                             'not prompts')
        null = pipeline.null_label(null_label)
        count = pipeline.class_embeddings()
        wrong = [k for k in hypotheses if not 0 <= k < count or k == null]
        if wrong:
            raise ValueError(f'{folder}: classes {wrong} are not classes of the network (class embeddings 0..'
                             f'{count - 1}, {null} the null label)')
        # labels are class indices; a null label after the classes is no label (the reference, -1, picks it)
        table = class_table(count - 1 if null == count - 1 else count, null)
    network = diffusers_folder.load_component(folder, pipeline.component, pipeline.cls, device, dtype)
    return DiffusersDenoiser(network, table, diffusers_folder.noise_process(pipeline.scheduler),
                             pipeline.scheduler.get('prediction_type', 'epsilon'), pipeline.learned_variance,
                             max_batch), pipeline
