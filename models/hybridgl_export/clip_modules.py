# Spec §4, §5, §8: CLIP ViT-B/16 visual trunk + hybrid heads, CLIP text encoder, GEM visual path.
# Tokens are batch-first [B, L, D] throughout (numerically the same as CLIP's sequence-first layout).
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

FUSION_MODES = ('G2L', 'L2G', 'G2L&L2G', 'token_masking', 'attn_masking', 'crop')


class FP32LayerNorm(nn.LayerNorm):
    """LayerNorm computed in fp32 whatever the input dtype (as CLIP does for its fp16 weights)."""

    def forward(self, x):
        return F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(),
                            self.eps).to(x.dtype)


class MultiheadSelfAttention(nn.Module):
    """nn.MultiheadAttention's parameter layout (in_proj_weight/bias, out_proj), self-attention only."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def qkv(self, x):
        """q, k, v as [B, heads, L, head_dim]."""
        b, l, d = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias).reshape(b, l, 3, self.heads, d // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]

    def merge(self, x):
        b, h, l, hd = x.shape
        return self.out_proj(x.transpose(1, 2).reshape(b, l, h * hd))

    def forward(self, x, bias=None):
        q, k, v = self.qkv(x)
        # Scale q before the product, as nn.MultiheadAttention does.
        scores = (q * (q.shape[-1] ** -0.5)) @ k.transpose(-2, -1)
        if bias is not None:
            scores = scores + bias
        return self.merge(scores.softmax(dim=-1) @ v)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Mlp(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class ResBlock(nn.Module):
    """CLIP's ResidualAttentionBlock: x += attn(ln_1 x); x += mlp(ln_2 x)."""

    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = FP32LayerNorm(width)
        self.attn = MultiheadSelfAttention(width, heads)
        self.ln_2 = FP32LayerNorm(width)
        self.mlp = Mlp(width)

    def forward(self, x, bias=None):
        x = x + self.attn(self.ln_1(x), bias)
        return x + self.mlp(self.ln_2(x))


def embed_patches(conv1, class_embedding, positional_embedding, ln_pre, images):
    x = conv1(images.to(conv1.weight.dtype))
    x = x.flatten(2).transpose(1, 2)
    cls = class_embedding.to(x.dtype) + torch.zeros_like(x[:, :1])
    x = torch.cat([cls, x], dim=1) + positional_embedding.to(x.dtype)
    return ln_pre(x)


class VisualStem(nn.Module):
    """Patch embedding, class token, positional embedding and ln_pre (CLIP VisionTransformer key names)."""

    def __init__(self, cfg, grid=None):
        super().__init__()
        width, patch = cfg['vision_width'], cfg['vision_patch_size']
        grid = grid or cfg['image_resolution'] // patch
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(width))
        self.positional_embedding = nn.Parameter(torch.empty(grid * grid + 1, width))
        self.ln_pre = FP32LayerNorm(width)

    def forward(self, images):
        return embed_patches(self.conv1, self.class_embedding, self.positional_embedding, self.ln_pre, images)


class ClipTrunk(nn.Module):
    """Blocks 0 … masking_block−1 on a batch of images (local and global together): [B,3,224,224] → [B,197,D]."""

    def __init__(self, cfg):
        super().__init__()
        self.stem = VisualStem(cfg)
        self.blocks = nn.ModuleList(ResBlock(cfg['vision_width'], cfg['vision_heads'])
                                    for _ in range(cfg['masking_block']))

    def forward(self, images):
        x = self.stem(images)
        for block in self.blocks:
            x = block(x)
        return x


def class_attention_bias(mask_grid, tokens):
    """Additive attention bias [N,1,L,L]: the class token's query may not see patches whose mask value is 0."""
    n = mask_grid.shape[0]
    keep = mask_grid.reshape(n, -1)
    blocked = torch.where(keep == 0, torch.full_like(keep, -math.inf), torch.zeros_like(keep))
    row0 = torch.cat([torch.zeros_like(keep[:, :1]), blocked], dim=1)
    rest = torch.zeros_like(row0).unsqueeze(1).expand(-1, row0.shape[1] - 1, -1)
    return torch.cat([row0.unsqueeze(1), rest], dim=1).unsqueeze(1).to(tokens.dtype)


def mask_patch_tokens(tokens, mask_grid):
    """Class token unchanged, each patch token × its mask value; broadcasts a batch of 1 over the N masks."""
    n = mask_grid.shape[0]
    weights = mask_grid.reshape(n, -1, 1).to(tokens.dtype)
    patches = tokens[:, 1:] * weights
    return torch.cat([tokens[:, :1].expand(patches.shape[0], -1, -1), patches], dim=1)


class HybridHead(nn.Module):
    """Blocks masking_block … last with the 14×14 mask grid, for one fusion mode (CLIPViTFM.forward)."""

    def __init__(self, cfg, fusion):
        super().__init__()
        if fusion not in FUSION_MODES:
            raise ValueError(f'unknown fusion mode {fusion!r}')
        self.fusion = fusion
        width = cfg['vision_width']
        count = cfg['vision_layers'] - cfg['masking_block']
        if fusion == 'attn_masking':
            count -= 1  # QUIRK attn-early-exit: the reference returns before the last block.
        self.blocks = nn.ModuleList(ResBlock(width, cfg['vision_heads']) for _ in range(count))
        self.ln_post = FP32LayerNorm(width)
        self.proj = nn.Parameter(torch.empty(width, cfg['embed_dim']))

    def project(self, tokens):
        return self.ln_post(tokens[:, 0]) @ self.proj.to(tokens.dtype)

    def forward(self, *args):
        return getattr(self, '_' + self.fusion.replace('&', '_'))(*args)

    def _G2L(self, local, global_, mask_grid):
        bias = class_attention_bias(mask_grid, local)
        x, g = local, global_
        for block in self.blocks:
            x, g = block(mask_patch_tokens(g, mask_grid) * 2 + x), block(g, bias)
        return self.project(x)

    def _L2G(self, local, global_, mask_grid):
        bias = class_attention_bias(mask_grid, local)
        x, g = local, global_
        for block in self.blocks:
            x, g = block(x), block(x + g * 2, bias)
        return self.project(g)

    def _G2L_L2G(self, local, global_, mask_grid):
        bias = class_attention_bias(mask_grid, local)
        x, g, hl, hg = local, global_, local, global_
        for block in self.blocks:
            masked_g = mask_patch_tokens(g, mask_grid)
            x, g, hl, hg = block(x), block(g, bias), block(hl + 2 * masked_g), block(x + 2 * hg, bias)
        return self.project(hl) + self.project(hg)

    def _token_masking(self, tokens, mask_grid):
        x = tokens
        for block in self.blocks:
            x = block(mask_patch_tokens(x, mask_grid))
        return self.project(x)

    def _attn_masking(self, tokens, mask_grid):
        bias = class_attention_bias(mask_grid, tokens)
        x = tokens.expand(mask_grid.shape[0], -1, -1)
        for block in self.blocks:
            x = block(x, bias)
        return self.project(x)

    def _crop(self, tokens):
        x = tokens
        for block in self.blocks:
            x = block(x)
        return self.project(x)


class ClipText(nn.Module):
    """Token ids [B,77] (int64) → projected text feature [B,E], pooled at the EOT (argmax id) position."""

    def __init__(self, cfg):
        super().__init__()
        width, ctx = cfg['transformer_width'], cfg['context_length']
        self.token_embedding = nn.Embedding(cfg['vocab_size'], width)
        self.positional_embedding = nn.Parameter(torch.empty(ctx, width))
        self.blocks = nn.ModuleList(ResBlock(width, cfg['transformer_heads'])
                                    for _ in range(cfg['transformer_layers']))
        self.ln_final = FP32LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, cfg['embed_dim']))
        self.register_buffer('causal', torch.full((ctx, ctx), -math.inf).triu(1), persistent=False)

    def forward(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = x.to(self.text_projection.dtype)
        causal = self.causal.to(x.dtype)
        for block in self.blocks:
            x = block(x, causal)
        x = self.ln_final(x)
        eot = ids.argmax(dim=-1)
        pooled = torch.gather(x, 1, eot[:, None, None].expand(-1, 1, x.shape[-1]))[:, 0]
        return pooled @ self.text_projection


def resample_positional_embedding(pos, new_grid):
    """14×14 → new_grid² patch positions by PyTorch's antialiased bicubic (GEM's resample_abs_pos_embed)."""
    cls, patches = pos[:1], pos[1:]
    old = int(round(patches.shape[0] ** 0.5))
    grid = patches.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode='bicubic', antialias=True)
    return torch.cat([cls, grid.permute(0, 2, 3, 1).reshape(new_grid * new_grid, -1)], dim=0)


def l2_normalize(x):
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class GemVisual(nn.Module):
    """GEM at 448×448: blocks before the last gem_depth−1 run plainly; the last ones carry a second (GEM) path that
    adds, per block, out_proj(self-self attention of ln_1(original-path input)) and skips the MLP.
    Output: L2-normalised ln_post(GEM path) × proj of the 28×28 patch tokens, [B, 784, E]."""

    def __init__(self, cfg, resolution=448, gem_depth=7, ss_iterations=1):
        super().__init__()
        width, patch = cfg['vision_width'], cfg['vision_patch_size']
        self.stem = VisualStem(cfg, grid=resolution // patch)
        self.blocks = nn.ModuleList(ResBlock(width, cfg['vision_heads']) for _ in range(cfg['vision_layers']))
        self.first_gem_block = cfg['vision_layers'] - (gem_depth - 1)
        self.ss_iterations = ss_iterations
        self.ln_post = FP32LayerNorm(width)
        self.proj = nn.Parameter(torch.empty(width, cfg['embed_dim']))

    def self_self_attention(self, attn, x):
        q, k, v = attn.qkv(x)
        inv_temp = (x.norm(dim=-1).mean(dim=-1) * (q.shape[-1] ** -0.5)).reshape(-1, 1, 1, 1)

        def cluster(z):
            for _ in range(self.ss_iterations):
                z = l2_normalize(z)
                z = ((z @ z.transpose(-2, -1)) * inv_temp).softmax(dim=-1) @ z
            z = l2_normalize(z)
            return ((z @ z.transpose(-2, -1)) * inv_temp).softmax(dim=-1) @ v

        return attn.merge((cluster(v) + cluster(k) + cluster(q)) / 3)

    def forward(self, images):
        x = self.stem(images)
        gem = None
        for i, block in enumerate(self.blocks):
            if i >= self.first_gem_block:
                gem = (x if gem is None else gem) + self.self_self_attention(block.attn, block.ln_1(x))
            x = block(x)
        features = self.ln_post(gem[:, 1:]) @ self.proj.to(gem.dtype)
        return l2_normalize(features)
