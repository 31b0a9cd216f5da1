"""EDM2 on ImageNet-512 (Karras et al. 2024, arXiv:2312.02696): the paper's class-conditional experiments.

NVlabs' post-hoc EMA pickles are read without running their code (entropic.networks.edm2_pickle) into our
network (edm2_unet): a conditional network for the classes and, as EDM2 guides, a separately trained
unconditional network for the reference, one denoiser (edm2_denoiser). The hypotheses in play are the ImageNet
classes its partition file names, each a tracked hypothesis costing one network call per step. Latents are
decoded by Stability's SD VAE (stabilityai/sd-vae-ft-mse) with EDM2's own latent scaling (edm2_latents).
"""

from entropic.files import download
from entropic.networks import imagenet
from entropic.theory import noise, partitions
from .base import Download, Model, file_errors, resolve
from .pretrained import BATCH, SCHEDULE_STUDY, PretrainedBackend

#----------------------------------------------------------------------------

PICKLE = '^edm2-img(512|64)-(xs|s|m|l|xl|xxl)-[0-9]{7}-[0-9]+[.][0-9]{3}[.]pkl$'
UNCOND_PICKLE = '^edm2-img(512|64)-(xs|s|m|l|xl|xxl)-uncond-[0-9]{7}-[0-9]+[.][0-9]{3}[.]pkl$'
VAE = [f'resources/sd-vae-ft-mse/{name}' for name in download.SD_VAE_FILES]

class EDM2Backend(PretrainedBackend):
    name = 'edm2'
    description = ("NVlabs' pretrained EDM2 ImageNet-512 latent networks (downloaded to resources/edm2, "
                   'a GPU advised)')
    schema = {
        'net': {'description': ('(required) file name of the conditional EDM2 pickle, e.g. '
                                'edm2-img512-xs-2147483-0.045.pkl; the download rule fetches it into resources/edm2/.'),
                'type': 'string', 'pattern': PICKLE},
        'gnet': {'description': ('(required) file name of the separately trained unconditional EDM2 pickle at the '
                                 "same EMA (EDM2's guidance network), e.g. edm2-img512-xs-uncond-2147483-0.045.pkl: "
                                 'the unconditional reference of every curve and the D_u of guidance.'),
                 'type': 'string', 'pattern': UNCOND_PICKLE},
        'partitions': {'description': ('(required) a YAML file of named partitions of ImageNet classes (cells of '
                                       'class indices; -1 is the unconditional reference), relative to the project '
                                       'root. Only the classes named in the file are in play: each is a tracked '
                                       'hypothesis costing one network call per step.'),
                       'type': 'string'},
        'batch': BATCH,
        'schedule_study': SCHEDULE_STUDY,
    }
    required = ('net', 'gnet', 'partitions')
    run_schema = {
        'net': {'description': ("this run's conditional pickle instead of the model's (e.g. EDM2's FID-optimal "
                                '0.135 net for unguided sampling).'), 'type': 'string', 'pattern': PICKLE},
        'gnet': {'description': "this run's unconditional pickle instead of the model's.", 'type': 'string',
                 'pattern': UNCOND_PICKLE},
    }
    hypothesis_file = 'partitions'

    def check(self, spec, key, config, root):
        return file_errors(spec, 'partitions', key, root,
                           lambda path: partitions.read_partition_file(path, imagenet.NUM_CLASSES))

    def _partitions(self, path):
        return partitions.read_partition_file(path, imagenet.NUM_CLASSES)

    def hypotheses(self, spec, config, root):
        names = imagenet.class_names()
        cells = self._partitions(resolve(root, spec['partitions'])).values()
        return {k: names[k] for k in sorted({k for part in cells for cell in part for k in cell if k >= 0})}

    def partition_files(self, spec, config, root):
        return {'file': str(resolve(root, spec['partitions']))}

    def partitions(self, spec, files):
        return self._partitions(files['file'])

    def pickles(self, spec, run):
        """The conditional and unconditional pickles of a run (its own, else the model's)."""
        return {key: f"resources/edm2/{run.get(key, spec[key])}" for key in ('net', 'gnet')}

    def model_downloads(self, spec):
        files = {path: Download(url=download.edm2_url(path.rsplit('/', 1)[1]))
                 for run in spec['runs'].values() for path in self.pickles(spec, run).values()}
        files.update({path: Download(repo=download.SD_VAE_REPO, file=name)
                      for path, name in zip(VAE, download.SD_VAE_FILES)})
        return files

    def network_files(self, model, spec, run):
        return self.pickles(spec, spec['runs'][run])

    def load(self, spec, files, hypotheses, device):
        from entropic.networks import edm2_denoiser, edm2_pickle
        denoiser = edm2_denoiser.EDM2Denoiser(edm2_pickle.load_network(files['net'], device),
                                              edm2_pickle.load_network(files['gnet'], device), max_batch=spec['batch'])
        return Model(denoiser, list(hypotheses), denoiser.shape, noise.EDMSchedule(), device)

    def decoder_files(self, spec):
        return VAE

    def load_decoder(self, files, device):
        import os
        from entropic.networks import diffusers_folder, edm2_latents
        vae = diffusers_folder.load_vae(os.path.dirname(files['vae'][0]), device)
        return lambda latents: edm2_latents.decode(vae, latents)

BACKEND = EDM2Backend()
