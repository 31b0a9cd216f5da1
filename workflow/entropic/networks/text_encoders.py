"""Prompts as hypotheses: prompt files, and the text conditioning of a diffusers pipeline built as its own
`encode_prompt` builds it. No model family owns this module.

Hypothesis k is prompt k; the reference (UNCONDITIONAL, -1) is the pipeline's unconditional branch of classifier-free
guidance, the empty prompt (Ho & Salimans 2022, arXiv:2207.12598), or zeros where the pipeline zeroes it (SDXL's
force_zeros_for_empty_prompt). Each pipeline class encodes prompts its own way (`ENCODINGS`), and the result is a
table of network inputs, {keyword: tensor with one row per prompt, the reference last}, which the denoiser indexes by
label (entropic.networks.diffusers_denoiser). A keyword 'added_cond_kwargs.<name>' goes into the network's
added_cond_kwargs dict.

torch and transformers are imported only where tokenizers or encoders are loaded, so reading a prompt file (what the
config check does) costs neither.
"""

import logging
import pathlib
import re

import yaml

from entropic.theory.partitions import UNCONDITIONAL, check_partition
from entropic.networks import diffusers_folder

#----------------------------------------------------------------------------
# Prompt files (config/prompts/*.yaml; the format is documented in config/prompts/sd15.yaml).

def read_prompt_file(path):
    """(prompts, partitions) from a prompt file: prompts a list of K strings (hypothesis k = prompts[k]),
    partitions a dict name -> cells of prompt indices (UNCONDITIONAL for the reference), checked.
    A cell member is a prompt index, a prompt's exact text, or -1; errors name the file and key."""
    try:
        entries = yaml.safe_load(pathlib.Path(path).read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f'{path}: cannot read the prompt file ({err})') from None
    if not isinstance(entries, dict) or set(entries) != {'prompts', 'partitions'}:
        raise ValueError(f'{path}: expected a mapping with exactly the keys prompts and partitions')
    prompts = entries['prompts']
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise ValueError(f'{path}: key prompts must be a non-empty list of strings')
    for k, prompt in enumerate(prompts):
        if not prompt.strip():
            raise ValueError(f'{path}: prompts[{k}] is empty; the empty prompt is the unconditional reference '
                             f'({UNCONDITIONAL} in a partition) and is not listed')
        if prompts.index(prompt) != k:
            raise ValueError(f'{path}: prompts[{k}] repeats prompts[{prompts.index(prompt)}] ({prompt!r})')
    index = {prompt: k for k, prompt in enumerate(prompts)}
    partitions = entries['partitions']
    if not isinstance(partitions, dict) or not partitions:
        raise ValueError(f'{path}: key partitions must be a non-empty mapping of names to cells')
    checked = {}
    for name, cells in partitions.items():
        where = f'{path}: partition {name!r}'
        if not isinstance(name, str) or not re.fullmatch(r'[A-Za-z0-9_-]+', name):
            raise ValueError(f'{where}: a name is letters, digits, - and _')
        if not isinstance(cells, list) or not all(isinstance(cell, list) for cell in cells):
            raise ValueError(f'{where}: expected a list of cells, each a list of prompts, got {cells!r}')
        resolved = []
        for cell in cells:
            for member in cell:
                if isinstance(member, str) and member not in index:
                    raise ValueError(f'{where}: {member!r} is not in the prompt list')
            resolved.append([index[m] if isinstance(m, str) else m for m in cell])
        checked[name] = check_partition(resolved, len(prompts), name=where)
    return prompts, checked

def is_prompt_file(path):
    """Whether a partition file is a prompt file (a mapping with the key `prompts`) rather than partitions of class
    indices (entropic.theory.partitions.read_partition_file); False for a file that cannot be read (its reader says why)."""
    try:
        entries = yaml.safe_load(pathlib.Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(entries, dict) and 'prompts' in entries

def check_encoder_tokens(
    encoders,                   # {name of a text encoder: (its tokenizer, the tokens it reads)}, as `tokenizers` gives
    prompts,                    # the K prompts of the hypotheses; the empty prompt, the reference, is added
    source,                     # what to name in messages: the prompt file
    prepare = None,             # the pipeline's text preprocessing of a prompt (PixArt lowers its case), if any
):
    """Warnings (one line per prompt an encoder truncates, naming the encoder and the words it drops, as diffusers
    warns); ValueError naming both prompts if two hypotheses (or a prompt and the empty reference) read the same
    tokens in every encoder after tokenisation and truncation: their embeddings, and so every denoiser output, are
    then identical, and no partition between them can speciate."""
    texts = [prepare(p) if prepare else p for p in list(prompts) + ['']]
    rows = [tokenizer(texts, padding='max_length', max_length=length, truncation=True).input_ids
            for tokenizer, length in encoders.values()]
    names = [f'prompts[{k}] {prompt!r}' for k, prompt in enumerate(prompts)] + ['the empty prompt (the reference, -1)']
    lengths = [str(length) for _, length in encoders.values()]
    read = ', '.join(lengths[:-1]) + ' and ' + lengths[-1] if len(lengths) > 1 else lengths[0]
    reader = ', '.join(encoders) if len(encoders) == 1 else f"the text encoders ({', '.join(encoders)})"
    first = {}
    for k, row in enumerate(zip(*rows)):
        j = first.setdefault(tuple(map(tuple, row)), k)
        if j != k:
            raise ValueError(f'{source}: {names[j]} and {names[k]} are the same hypothesis to {reader}: '
                             f'identical after tokenisation and truncation to {read} tokens; make them differ '
                             f"within what the encoder{'s read' if len(encoders) > 1 else ' reads'}")
    warnings = []
    for name, (tokenizer, length) in encoders.items():
        kept = length - tokenizer.num_special_tokens_to_add()     # CLIP adds BOS and EOS, T5 only EOS
        for k, text in enumerate(texts[:-1]):
            tokens = tokenizer.tokenize(text)
            if len(tokens) > kept:
                dropped = tokenizer.decode(tokenizer.convert_tokens_to_ids(tokens[kept:])).strip()
                warnings.append(f'{source}: prompts[{k}] is {len(tokens) + length - kept} tokens long and {name} '
                                f'reads {length}: it drops {dropped!r}')
    return warnings

#----------------------------------------------------------------------------
# How each pipeline class encodes a prompt.

class Encoding:
    """How a pipeline class turns prompts into its denoiser's inputs: which tokenizers and text encoders (component
    names of model_index.json) read how many tokens, and how their outputs become the table of network inputs."""

    def __init__(self, encoders, lengths, build, prepare=None, masked=False):
        self.encoders = encoders    # {encoder name: (tokenizer component, text encoder component)}, in encode order
        self.lengths = lengths      # {encoder name: tokens it reads, a name: that encoder's, None: model_max_length}
        self.build = build          # (outputs {encoder name: (tokens, output)}, index, network config) -> table
        self.prepare = prepare      # the pipeline's text preprocessing of a prompt, if any
        self.masked = masked        # whether the encoders read the tokens' attention mask (T5 in PixArt)

def _clip_last(outputs, index, config):
    """StableDiffusionPipeline.encode_prompt without clip_skip: CLIP's last hidden state (SD1.x, SD2.x)."""
    (_, out), = outputs.values()
    return {'encoder_hidden_states': out.last_hidden_state}

def _sdxl(outputs, index, config):
    """StableDiffusionXLPipeline.encode_prompt without clip_skip: both CLIPs' penultimate hidden states side by side,
    the second one's pooled projection, and the added time ids (original size, crop (0, 0), target size) of the
    model's native resolution; the reference is zeros where force_zeros_for_empty_prompt (its default) holds."""
    import torch
    hidden = torch.cat([out.hidden_states[-2] for _, out in outputs.values()], dim=-1)
    pooled = list(outputs.values())[-1][1].text_embeds
    if index.get('force_zeros_for_empty_prompt', True):
        hidden[-1], pooled[-1] = 0, 0
    side = config['resolution']
    time_ids = torch.tensor([[side, side, 0, 0, side, side]], dtype=hidden.dtype).expand(len(hidden), 6)
    return {'encoder_hidden_states': hidden, 'added_cond_kwargs.text_embeds': pooled,
            'added_cond_kwargs.time_ids': time_ids}

def _sd3(outputs, index, config):
    """StableDiffusion3Pipeline.encode_prompt without clip_skip: CLIP-L's and CLIP-G's penultimate hidden states side
    by side, padded with zeros to T5's width, then T5's last hidden state along the sequence; the CLIPs' pooled
    projections side by side."""
    import torch
    clip = [outputs[name][1] for name in ('CLIP-L', 'CLIP-G')]
    t5 = outputs['T5'][1].last_hidden_state
    hidden = torch.cat([out.hidden_states[-2] for out in clip], dim=-1).to(t5.dtype)
    hidden = torch.nn.functional.pad(hidden, (0, t5.shape[-1] - hidden.shape[-1]))
    return {'encoder_hidden_states': torch.cat([hidden, t5], dim=-2),
            'pooled_projections': torch.cat([out.text_embeds for out in clip], dim=-1)}

def _pixart(outputs, index, config):
    """PixArtAlphaPipeline.encode_prompt (and Sigma's): T5's last hidden state under the tokens' attention mask, the
    mask itself; the micro-conditions (resolution, aspect ratio) where the transformer takes them."""
    import torch
    (ids, out), = outputs.values()
    table = {'encoder_hidden_states': out.last_hidden_state, 'encoder_attention_mask': ids.attention_mask}
    if config['use_additional_conditions']:
        side = config['resolution']
        table['added_cond_kwargs.resolution'] = torch.tensor([[side, side]], dtype=out.last_hidden_state.dtype).expand(
            len(ids.attention_mask), 2)
        table['added_cond_kwargs.aspect_ratio'] = torch.ones(len(ids.attention_mask), 1, dtype=out.last_hidden_state.dtype)
    return table

def _pixart_text(prompt):
    """PixArt's text preprocessing without clean_caption (which needs bs4 and ftfy): lower case, stripped."""
    return prompt.lower().strip()

ENCODINGS = {
    'StableDiffusionPipeline': Encoding({'the text encoder': ('tokenizer', 'text_encoder')}, {'the text encoder': None},
                                        _clip_last),
    'StableDiffusionXLPipeline': Encoding({'CLIP-L': ('tokenizer', 'text_encoder'),
                                           'CLIP-G': ('tokenizer_2', 'text_encoder_2')},
                                          {'CLIP-L': None, 'CLIP-G': None}, _sdxl),
    'StableDiffusion3Pipeline': Encoding({'CLIP-L': ('tokenizer', 'text_encoder'),
                                          'CLIP-G': ('tokenizer_2', 'text_encoder_2'),
                                          'T5': ('tokenizer_3', 'text_encoder_3')},
                                         {'CLIP-L': None, 'CLIP-G': 'CLIP-L', 'T5': 256}, _sd3),
    'PixArtAlphaPipeline': Encoding({'T5': ('tokenizer', 'text_encoder')}, {'T5': 120}, _pixart, _pixart_text, True),
    'PixArtSigmaPipeline': Encoding({'T5': ('tokenizer', 'text_encoder')}, {'T5': 300}, _pixart, _pixart_text, True),
}
# The lengths: SD3's CLIP-G reads CLIP-L's model_max_length (the pipeline's tokenizer_max_length), T5 its
# max_sequence_length default (256); PixArt-alpha's and -Sigma's __call__ default max_sequence_length (120, 300).

def encoding(index, folder):
    """The Encoding of the pipeline class of a model_index.json; ValueError naming the folder for a class that does
    not condition on prompts the ways this module knows."""
    kind = index['_class_name']
    if kind not in ENCODINGS:
        raise ValueError(f'{folder}: a {kind} does not condition on prompts the ways the diffusers backend knows '
                         f"({', '.join(ENCODINGS)}); use a partition file of class indices for a class-conditional "
                         'model')
    return ENCODINGS[kind]

def _fetch(folder):
    return f'{folder}: run the download rule of the model to fetch it (or place the pipeline there by hand)'

def vocabulary_files(path, cls):
    """'' where the tokenizer folder `path` holds a vocabulary the tokenizer class `cls` reads (its tokenizer.json, or
    every file of its slow format, such as CLIP's vocab.json and merges.txt or T5's spiece.model), else what is
    missing, in words."""
    names = dict(getattr(cls, 'vocab_files_names', None) or {})
    whole = names.pop('tokenizer_file', None)
    if not names and whole is None or whole is not None and (path / whole).is_file():
        return ''
    if names and all((path / name).is_file() for name in names.values()):
        return ''
    return ' or '.join(filter(None, [whole, ' and '.join(names.values())])) + ' missing'

def tokenizers(folder, index):
    """{encoder name: (tokenizer, tokens it reads)} of the pipeline in `folder` with model_index.json `index`, each
    tokenizer the class the index names, offline; FileNotFoundError naming the folder."""
    import transformers
    recipe = encoding(index, folder)
    loaded = {}
    for name, (tokenizer, _) in recipe.encoders.items():
        cls = getattr(transformers, index[tokenizer][1])
        vocabulary = vocabulary_files(pathlib.Path(folder) / tokenizer, cls)
        if vocabulary:      # transformers builds a tokenizer of its special tokens alone from a folder without one
            raise FileNotFoundError(f'{folder}/{tokenizer}: no vocabulary ({vocabulary}); ' + _fetch(folder))
        try:
            loaded[name] = cls.from_pretrained(pathlib.Path(folder) / tokenizer, local_files_only=True)
        except (OSError, ValueError) as err:
            raise FileNotFoundError(f'{folder}/{tokenizer}: cannot load the tokenizer ({err}); ' + _fetch(folder)) from err
    lengths = {}
    for name, length in recipe.lengths.items():
        lengths[name] = (loaded[name].model_max_length if length is None else
                         lengths[length] if isinstance(length, str) else length)
    return {name: (loaded[name], lengths[name]) for name in recipe.encoders}

def check_prompts(folder, index, prompts, source):
    """check_encoder_tokens with the pipeline's own tokenizers and text preprocessing: warnings, or ValueError."""
    return check_encoder_tokens(tokenizers(folder, index), prompts, source, encoding(index, folder).prepare)

def encode(folder, index, prompts, config, device='cpu', dtype=None, source='the prompt file'):
    """The table of network inputs of the K prompts and the reference (last row) as the pipeline in `folder` (with
    model_index.json `index`) encodes them: {keyword: tensor [K + 1, ...]} on `device`. `config` holds what the
    encoding reads of the denoiser: 'resolution' (pixels) and 'use_additional_conditions'. Prompts the encoders
    cannot tell apart raise ValueError; truncated ones are logged as warnings (the 'entropic' logger). The text
    encoders, loaded as the index names them in `dtype` (None: float32), are freed before returning."""
    import torch
    dtype = torch.float32 if dtype is None else dtype
    recipe = encoding(index, folder)
    tokens = tokenizers(folder, index)
    for warning in check_encoder_tokens(tokens, prompts, source, recipe.prepare):
        logging.getLogger('entropic').warning(warning)
    texts = [recipe.prepare(p) if recipe.prepare else p for p in list(prompts) + ['']]
    outputs = {}
    for name, (_, subfolder) in recipe.encoders.items():
        library, cls = index[subfolder]
        encoder = diffusers_folder.load_component(folder, subfolder, cls, device, dtype, library=library)
        tokenizer, length = tokens[name]
        ids = tokenizer(texts, padding='max_length', max_length=length, truncation=True, return_tensors='pt')
        kwargs = {'attention_mask': ids.attention_mask.to(device)} if recipe.masked else {}
        with torch.no_grad():
            outputs[name] = (ids, encoder(ids.input_ids.to(device), output_hidden_states=True, **kwargs))
        del encoder
    with torch.no_grad():
        table = recipe.build(outputs, index, config)
    if device == 'cuda':
        torch.cuda.empty_cache()
    return {key: value.to(device) for key, value in table.items()}
