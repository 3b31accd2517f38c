# Spec §2, §4, §5, §8: architecture configs, official-checkpoint key mapping, random official-format weights.
import math
import re

import torch

SAM_ARCHS = {
    'vit_b': dict(encoder_embed_dim=768, encoder_depth=12, encoder_num_heads=12, encoder_global_attn_indexes=[2, 5, 8, 11]),
    'vit_l': dict(encoder_embed_dim=1024, encoder_depth=24, encoder_num_heads=16,
                  encoder_global_attn_indexes=[5, 11, 17, 23]),
    'vit_h': dict(encoder_embed_dim=1280, encoder_depth=32, encoder_num_heads=16,
                  encoder_global_attn_indexes=[7, 15, 23, 31]),
}
SAM_COMMON = dict(image_size=1024, patch_size=16, window_size=14, prompt_embed_dim=256, mask_in_chans=16,
                  decoder_depth=2, decoder_num_heads=8, decoder_mlp_dim=2048, iou_head_hidden_dim=256,
                  num_multimask_outputs=3)
# Same geometry (1024 → 64×64 embeddings, 256×256 low-res masks), few layers and narrow widths.
SAM_TINY = dict(SAM_COMMON, encoder_embed_dim=16, encoder_depth=4, encoder_num_heads=2,
                encoder_global_attn_indexes=[1, 3], prompt_embed_dim=16, mask_in_chans=8, decoder_num_heads=2,
                decoder_mlp_dim=32, iou_head_hidden_dim=16)

CLIP_COMMON = dict(masking_block=9, gem_depth=7, gem_resolution=448)
# ViT-B/16 geometry (224, 16-px patches, 14×14 grid; GEM 448 → 28×28), 12 layers, narrow widths; the vocabulary
# keeps CLIP's size so that real token ids are valid.
CLIP_TINY = dict(CLIP_COMMON, embed_dim=16, image_resolution=224, vision_width=16, vision_layers=12,
                 vision_patch_size=16, vision_heads=2, context_length=77, vocab_size=49408, transformer_width=8,
                 transformer_heads=2, transformer_layers=12)


def sam_config(arch, tiny):
    if tiny:
        return dict(SAM_TINY, arch=arch + '-tiny')
    return dict(SAM_COMMON, arch=arch, **SAM_ARCHS[arch])


def count_blocks(state, prefix):
    pattern = re.compile(re.escape(prefix) + r'(\d+)\.')
    return len({m.group(1) for k in state for m in [pattern.match(k)] if m})


def clip_config_from_state(state):
    """The architecture implied by an OpenAI CLIP ViT state_dict (as clip.build_model reads it)."""
    width = state['visual.conv1.weight'].shape[0]
    patch = state['visual.conv1.weight'].shape[-1]
    grid = round((state['visual.positional_embedding'].shape[0] - 1) ** 0.5)
    text_width = state['ln_final.weight'].shape[0]
    return dict(CLIP_COMMON, embed_dim=state['text_projection'].shape[1], image_resolution=patch * grid,
                vision_width=width, vision_layers=count_blocks(state, 'visual.transformer.resblocks.'),
                vision_patch_size=patch, vision_heads=width // 64,
                context_length=state['positional_embedding'].shape[0],
                vocab_size=state['token_embedding.weight'].shape[0], transformer_width=text_width,
                transformer_heads=text_width // 64,
                transformer_layers=count_blocks(state, 'transformer.resblocks.'))


def take(state, rules):
    """Sub-state-dict: for each (official_prefix, module_prefix), every key under the official prefix, renamed."""
    out = {}
    for src, dst in rules:
        hits = {dst + k[len(src):]: v for k, v in state.items() if k.startswith(src)}
        if not hits:
            raise KeyError(f'checkpoint has no keys under {src!r}')
        out.update(hits)
    return out


def block_rules(src, dst, first, count, offset=0):
    return [(f'{src}{first + i}.', f'{dst}{offset + i}.') for i in range(count)]


STEM_RULES = [('visual.conv1.', 'stem.conv1.'), ('visual.class_embedding', 'stem.class_embedding'),
              ('visual.positional_embedding', 'stem.positional_embedding'), ('visual.ln_pre.', 'stem.ln_pre.')]
POST_RULES = [('visual.ln_post.', 'ln_post.'), ('visual.proj', 'proj')]
VISUAL_BLOCKS = 'visual.transformer.resblocks.'


def clip_trunk_state(state, cfg):
    return take(state, STEM_RULES + block_rules(VISUAL_BLOCKS, 'blocks.', 0, cfg['masking_block']))


def clip_head_state(state, head_blocks, cfg):
    return take(state, block_rules(VISUAL_BLOCKS, 'blocks.', cfg['masking_block'], head_blocks) + POST_RULES)


def clip_text_state(state, cfg):
    rules = [('token_embedding.', 'token_embedding.'), ('positional_embedding', 'positional_embedding'),
             ('ln_final.', 'ln_final.'), ('text_projection', 'text_projection')]
    return take(state, rules + block_rules('transformer.resblocks.', 'blocks.', 0, cfg['transformer_layers']))


def gem_state(state, cfg, resample):
    out = take(state, STEM_RULES + POST_RULES + block_rules(VISUAL_BLOCKS, 'blocks.', 0, cfg['vision_layers']))
    grid = cfg['gem_resolution'] // cfg['vision_patch_size']
    out['stem.positional_embedding'] = resample(out['stem.positional_embedding'], grid)
    return out


def sam_encoder_state(state):
    return take(state, [('image_encoder.', '')])


def sam_decoder_state(state):
    return take(state, [('prompt_encoder.', 'prompt_encoder.'), ('mask_decoder.', 'mask_decoder.')])


def random_like(name, shape, gen):
    """Random values at scales that keep activations O(1): LayerNorm weights near 1, fan-in scaled matrices."""
    randn = lambda: torch.randn(shape, generator=gen)  # noqa: E731
    if len(shape) == 0:
        return torch.tensor(math.log(100.0))  # logit_scale: exp → 100 as in the released CLIP
    if len(shape) == 1:
        if name.endswith('.weight'):
            return 1 + 0.1 * randn()
        return (0.02 if name.endswith('bias') else shape[0] ** -0.5) * randn()
    if name.endswith('pos_embed'):
        return 0.02 * randn()
    if name.endswith('proj') or name.endswith('text_projection'):
        return shape[0] ** -0.5 * randn()
    fan_in = math.prod(shape[1:])
    return fan_in ** -0.5 * randn()


def clip_official_shapes(cfg):
    """Every parameter of an OpenAI CLIP ViT checkpoint (visual + text), by official key name."""
    w, e, p = cfg['vision_width'], cfg['embed_dim'], cfg['vision_patch_size']
    grid = cfg['image_resolution'] // p

    def block(prefix, d):
        return {f'{prefix}attn.in_proj_weight': (3 * d, d), f'{prefix}attn.in_proj_bias': (3 * d,),
                f'{prefix}attn.out_proj.weight': (d, d), f'{prefix}attn.out_proj.bias': (d,),
                f'{prefix}ln_1.weight': (d,), f'{prefix}ln_1.bias': (d,), f'{prefix}mlp.c_fc.weight': (4 * d, d),
                f'{prefix}mlp.c_fc.bias': (4 * d,), f'{prefix}mlp.c_proj.weight': (d, 4 * d),
                f'{prefix}mlp.c_proj.bias': (d,), f'{prefix}ln_2.weight': (d,), f'{prefix}ln_2.bias': (d,)}

    shapes = {'visual.conv1.weight': (w, 3, p, p), 'visual.class_embedding': (w,),
              'visual.positional_embedding': (grid * grid + 1, w), 'visual.ln_pre.weight': (w,),
              'visual.ln_pre.bias': (w,), 'visual.ln_post.weight': (w,), 'visual.ln_post.bias': (w,),
              'visual.proj': (w, e)}
    for i in range(cfg['vision_layers']):
        shapes.update(block(f'{VISUAL_BLOCKS}{i}.', w))
    t = cfg['transformer_width']
    shapes.update({'token_embedding.weight': (cfg['vocab_size'], t), 'positional_embedding': (cfg['context_length'], t),
                   'ln_final.weight': (t,), 'ln_final.bias': (t,), 'text_projection': (t, e), 'logit_scale': ()})
    for i in range(cfg['transformer_layers']):
        shapes.update(block(f'transformer.resblocks.{i}.', t))
    return shapes


def random_clip_state(cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    return {k: random_like(k, s, gen) for k, s in clip_official_shapes(cfg).items()}


def random_sam_state(encoder, decoder, seed):
    """Official-format SAM keys with random values, from freshly built modules (their names are SAM's)."""
    gen = torch.Generator().manual_seed(seed)
    state = {'image_encoder.' + k: v for k, v in encoder.state_dict().items()}
    state.update(decoder.state_dict())
    out = {k: random_like(k, tuple(v.shape), gen) for k, v in state.items()}
    key = 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'
    out[key] = torch.randn(out[key].shape, generator=gen)  # SAM's scale 1
    return out
