# Spec §2: SAM image encoder (ViT with windowed/global attention and decomposed relative positions), prompt encoder
# for point prompts and the two-way-transformer mask decoder (multimask output), with segment-anything's key names.
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .clip_modules import FP32LayerNorm


class LayerNorm2d(nn.Module):
    """Channel LayerNorm on NCHW (as one LayerNormalization over the channels, which the fp16 variant keeps fp32)."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x):
        y = F.layer_norm(x.permute(0, 2, 3, 1).float(), self.weight.shape, self.weight.float(), self.bias.float(),
                         self.eps)
        return y.permute(0, 3, 1, 2).to(x.dtype)


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).permute(0, 2, 3, 1)


def relative_index(size):
    """[size, size] index into a (2·size−1)-row table: q − k + size − 1."""
    coords = torch.arange(size)
    return coords[:, None] - coords[None, :] + (size - 1)


class RelPosAttention(nn.Module):
    CHUNK_ABOVE = 1024  # tokens: windowed attention (14x14) runs whole
    QUERY_CHUNKS = 8  # global attention: the query rows in eighths

    def __init__(self, dim, heads, size):
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * size - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * size - 1, head_dim))
        self.register_buffer('rel_index', relative_index(size), persistent=False)

    def forward(self, x):
        b, h, w, d = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        qkv = qkv.reshape(3, b * self.heads, h * w, d // self.heads)
        q, k, v = qkv[0], qkv[1], qkv[2]
        # Decomposed relative positions, from the unscaled q.
        rh = self.rel_pos_h[self.rel_index]
        rw = self.rel_pos_w[self.rel_index]
        rq = q.reshape(-1, h, w, q.shape[-1])
        rel_w = torch.einsum('bhwc,wkc->bhwk', rq, rw)
        # Global attention (64x64 tokens) takes the queries an eighth of the rows at a time: each row's scores and
        # softmax are the same, but only an eighth of the 4096x4096 score matrices is alive at once.
        step = h if h * w <= self.CHUNK_ABOVE else -(-h // self.QUERY_CHUNKS)
        outs = []
        for r0 in range(0, h, step):
            r1 = min(h, r0 + step)
            attn = (q[:, r0 * w:r1 * w] * self.scale) @ k.transpose(-2, -1)
            rel_h = torch.einsum('bhwc,hkc->bhwk', rq[:, r0:r1], rh[r0:r1])
            attn = attn.reshape(-1, r1 - r0, w, h, w) + rel_h[:, :, :, :, None] + rel_w[:, r0:r1, :, None, :]
            outs.append(attn.reshape(-1, (r1 - r0) * w, h * w).softmax(dim=-1) @ v)
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        out = out.reshape(b, self.heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(out)


class SamMlp(nn.Module):
    def __init__(self, dim, hidden, act):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)
        self.act = act

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads, window, grid):
        super().__init__()
        self.window = window
        self.norm1 = FP32LayerNorm(dim, eps=1e-6)
        self.attn = RelPosAttention(dim, heads, window if window > 0 else grid)
        self.norm2 = FP32LayerNorm(dim, eps=1e-6)
        self.mlp = SamMlp(dim, 4 * dim, nn.GELU())

    def forward(self, x):
        shortcut = x
        x = self.norm1(x)
        if self.window > 0:
            b, h, w, c = x.shape
            ws = self.window
            ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            hp, wp = h + ph, w + pw
            x = x.reshape(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)
            x = self.attn(x)
            x = x.reshape(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
            x = x[:, :h, :w]
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class SamImageEncoder(nn.Module):
    """Normalised, padded pixels [B,3,1024,1024] → image embeddings [B,C,64,64]."""

    def __init__(self, cfg):
        super().__init__()
        dim, grid = cfg['encoder_embed_dim'], cfg['image_size'] // cfg['patch_size']
        self.patch_embed = PatchEmbed(dim, cfg['patch_size'])
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, dim))
        self.blocks = nn.ModuleList(
            EncoderBlock(dim, cfg['encoder_num_heads'],
                         0 if i in cfg['encoder_global_attn_indexes'] else cfg['window_size'], grid)
            for i in range(cfg['encoder_depth']))
        out = cfg['prompt_embed_dim']
        self.neck = nn.Sequential(nn.Conv2d(dim, out, 1, bias=False), LayerNorm2d(out),
                                  nn.Conv2d(out, out, 3, padding=1, bias=False), LayerNorm2d(out))

    def forward(self, pixels):
        x = self.patch_embed(pixels.to(self.pos_embed.dtype)) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.neck(x.permute(0, 3, 1, 2))


class RandomFourierEncoding(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.register_buffer('positional_encoding_gaussian_matrix', torch.randn(2, features))

    def encode(self, coords):
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix.to(coords.dtype)
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def dense(self, size):
        grid = torch.ones(size, size, dtype=self.positional_encoding_gaussian_matrix.dtype)
        y = (grid.cumsum(0) - 0.5) / size
        x = (grid.cumsum(1) - 0.5) / size
        return self.encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Point prompts only (the pipeline uses no boxes or mask inputs); mask_downscaling is kept for the keys."""

    def __init__(self, cfg):
        super().__init__()
        dim = cfg['prompt_embed_dim']
        self.image_size = cfg['image_size']
        self.pe_layer = RandomFourierEncoding(dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, dim)
        self.no_mask_embed = nn.Embedding(1, dim)
        mid = cfg['mask_in_chans']
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mid // 4, 2, 2), LayerNorm2d(mid // 4), nn.GELU(),
            nn.Conv2d(mid // 4, mid, 2, 2), LayerNorm2d(mid), nn.GELU(), nn.Conv2d(mid, dim, 1))

    def points(self, coords, labels):
        # SAM pads one (0, 0) point labelled −1 when no box is given.
        coords = torch.cat([coords + 0.5, torch.zeros_like(coords[:, :1])], dim=1)
        labels = torch.cat([labels, torch.full_like(labels[:, :1], -1)], dim=1)[..., None]
        emb = self.pe_layer.encode(coords / self.image_size)
        emb = torch.where(labels == -1, torch.zeros_like(emb), emb)
        emb = emb + (labels == -1).to(emb.dtype) * self.not_a_point_embed.weight
        emb = emb + (labels == 0).to(emb.dtype) * self.point_embeddings[0].weight
        return emb + (labels == 1).to(emb.dtype) * self.point_embeddings[1].weight


class TokenAttention(nn.Module):
    def __init__(self, dim, heads, downsample=1):
        super().__init__()
        inner = dim // downsample
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(dim, inner), nn.Linear(dim, inner), nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = self.split(self.q_proj(q)), self.split(self.k_proj(k)), self.split(self.v_proj(v))
        attn = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        out = attn.softmax(dim=-1) @ v
        b, h, n, c = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * c))


def _block_diagonal(x, heads):
    """[B, n, H*d] → [B, H*n, H*d]: head h's rows of x in the block (h, h), zeros elsewhere. A product with it applies
    every head's slice of a projection weight at once, the weight used as stored (no per-head copy of it)."""
    b, n, c = x.shape
    d = c // heads
    eye = torch.eye(heads, device=x.device).to(x.dtype)  # torch 1.13 has no bfloat16 eye on the CPU
    blocks = x.reshape(b, n, heads, d).transpose(1, 2).unsqueeze(3) * eye.reshape(1, heads, 1, heads, 1)
    return blocks.reshape(b, heads * n, c)


def _diagonal_blocks(y, heads, n):
    """[B, H*n, H*d] → [B, n, H*d]: the blocks (h, h), i.e. each head's rows through its own slice of the weight."""
    b, _, c = y.shape
    d = c // heads
    eye = torch.eye(heads, device=y.device).to(y.dtype)
    picked = (y.reshape(b, heads, n, heads, d) * eye.reshape(1, heads, 1, heads, 1)).sum(dim=1)
    return picked.reshape(b, n, c)


def tokens_to_image(attn, q, k, v):
    """attn(q, k, v) for a few query tokens over many image keys that differ per prompt, contracted over the tokens:
    scores (q_h W_k,h) k^T + q_h · b_k,h and output (softmax · v) W_v,h^T + b_v,h, so the image side is never
    projected (per prompt 2·n·H·C·N multiply-adds instead of 2·N·C·C/2). Equal to SAM's attention up to fp32
    rounding. Keys shared by all prompts (batch 1) are projected once instead, as SAM does."""
    if k.shape[0] == 1:
        return attn(q, k, v)
    heads, n = attn.heads, q.shape[1]
    inner = attn.q_proj.out_features
    # The 1/sqrt(d) scale on the few query rows, not on the N-wide scores (exact: d is a power of 4 in SAM).
    qbd = _block_diagonal(attn.q_proj(q) / math.sqrt(inner // heads), heads)   # [B, H*n, inner]
    scores = (qbd @ attn.k_proj.weight) @ k.transpose(1, 2)               # [B, H*n, N]
    probs = (scores + (qbd @ attn.k_proj.bias).unsqueeze(-1)).softmax(dim=-1)
    mixed = probs @ v                                                     # [B, H*n, C]
    out = _diagonal_blocks(mixed @ attn.v_proj.weight.t(), heads, n) + attn.v_proj.bias
    return attn.out_proj(out)


def image_to_tokens(attn, x, t, v):
    """attn(x, t, v) for many image queries x over a few tokens t (values v), contracted over the tokens: the output
    is softmax · (v_h W_out,h^T) summed over heads, so the attention's result is never projected per image token;
    when x differs per prompt its scores are x (W_q,h^T k_h^T) + b_q,h · k_h too. Equal to SAM's attention up to fp32
    rounding. Image queries shared by all prompts (batch 1) are projected once, as SAM does."""
    heads, n = attn.heads, t.shape[1]
    inner = attn.q_proj.out_features
    # The 1/sqrt(d) scale on the few key rows, not on the N-wide scores (exact: d is a power of 4 in SAM).
    kbd = _block_diagonal(attn.k_proj(t) / math.sqrt(inner // heads), heads)   # [B, H*n, inner]
    if x.shape[0] == 1:
        scores = attn.q_proj(x) @ kbd.transpose(1, 2)                     # [B, N, H*n]
    else:
        scores = x @ (kbd @ attn.q_proj.weight).transpose(1, 2) + (kbd @ attn.q_proj.bias).unsqueeze(1)
    b, N = scores.shape[0], scores.shape[1]
    probs = scores.reshape(b, N, heads, n).softmax(dim=-1).reshape(b, N, heads * n)
    values = _block_diagonal(attn.v_proj(v), heads) @ attn.out_proj.weight.t()   # [B, H*n, C]
    # Head 0's probabilities sum to 1, so out_proj's bias rides on its n value rows: no add over the N image tokens
    # (and the bias stays the checkpoint's tensor, not a folded multiple of it).
    values = torch.cat([values[:, :n] + attn.out_proj.bias, values[:, n:]], dim=1)
    return probs @ values                                                 # [B, N, C]


class TwoWayBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim, skip_first_pe):
        super().__init__()
        self.skip_first_pe = skip_first_pe
        self.self_attn = TokenAttention(dim, heads)
        self.norm1 = FP32LayerNorm(dim)
        self.cross_attn_token_to_image = TokenAttention(dim, heads, 2)
        self.norm2 = FP32LayerNorm(dim)
        self.mlp = SamMlp(dim, mlp_dim, nn.ReLU())
        self.norm3 = FP32LayerNorm(dim)
        self.norm4 = FP32LayerNorm(dim)
        self.cross_attn_image_to_token = TokenAttention(dim, heads, 2)

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip_first_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + tokens_to_image(self.cross_attn_token_to_image, q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + image_to_tokens(self.cross_attn_image_to_token, k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, dim, heads, mlp_dim, depth):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayBlock(dim, heads, mlp_dim, i == 0) for i in range(depth))
        self.final_attn_token_to_image = TokenAttention(dim, heads, 2)
        self.norm_final_attn = FP32LayerNorm(dim)

    def forward(self, image, image_pe, tokens):
        keys = image.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        attn = tokens_to_image(self.final_attn_token_to_image, queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries + attn), keys


class HeadMlp(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MaskDecoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        dim, tokens = cfg['prompt_embed_dim'], cfg['num_multimask_outputs'] + 1
        self.num_mask_tokens = tokens
        self.transformer = TwoWayTransformer(dim, cfg['decoder_num_heads'], cfg['decoder_mlp_dim'],
                                             cfg['decoder_depth'])
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(tokens, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, 2, 2), LayerNorm2d(dim // 4), nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, 2, 2), nn.GELU())
        self.output_hypernetworks_mlps = nn.ModuleList(HeadMlp([dim, dim, dim, dim // 8]) for _ in range(tokens))
        hidden = cfg['iou_head_hidden_dim']
        self.iou_prediction_head = HeadMlp([dim, hidden, hidden, tokens])

    def forward(self, image, image_pe, dense, sparse):
        """Multimask outputs only (masks 1..3 and their IoUs; SAM's mask 0 is dropped by the caller). Arranged for
        arithmetic, not as SAM's modules: the image side stays one batch until the first image-to-token attention
        makes it per prompt (the same values as SAM's per-prompt copies, computed once); once per prompt, the
        attentions are contracted over the 7 prompt tokens (tokens_to_image, image_to_tokens) instead of projecting
        the 4096 image tokens; the up-scaling runs channel-last as matrix products: a 2x2 stride-2 transposed
        convolution is a product per input pixel, and the pixels are put in raster order once, on the 3 output masks,
        rather than on the 32- and 64-channel feature maps. 1.79 GFLOP a prompt at vit_b's width (SAM's layout:
        3.02); equal to SAM's decoder up to fp32 rounding."""
        b = sparse.shape[0]
        out_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat([out_tokens.unsqueeze(0).expand(b, -1, -1), sparse], dim=1)
        hs, src = self.transformer(image + dense, image_pe.unsqueeze(0), tokens)
        iou_out, mask_out = hs[:, 0], hs[:, 2:1 + self.num_mask_tokens]
        h, w = image.shape[2:]
        conv1, norm, _, conv2, _ = self.output_upscaling
        up = self.transposed_conv_2x2(src, conv1)  # [B, h*w, 2, 2, C/4]: pixel (y, x), sub-pixel (i, j)
        up = F.gelu(F.layer_norm(up.float(), norm.weight.shape, norm.weight.float(), norm.bias.float(),
                                 norm.eps).to(up.dtype))
        up = F.gelu(self.transposed_conv_2x2(up, conv2))  # [B, h*w*2*2, 2, 2, C/8]
        hyper = torch.stack([mlp(mask_out[:, i - 1]) for i, mlp in enumerate(self.output_hypernetworks_mlps)
                             if i > 0], dim=1)
        uc = hyper.shape[-1]
        masks = up.reshape(b, -1, uc) @ hyper.transpose(1, 2)  # [B, h*w*16, 3]
        masks = masks.reshape(b, h, w, 2, 2, 2, 2, -1).permute(0, 7, 1, 3, 5, 2, 4, 6).reshape(b, -1, 4 * h, 4 * w)
        return masks, self.iou_prediction_head(iou_out)[:, 1:]

    @staticmethod
    def transposed_conv_2x2(x, conv):
        """ConvTranspose2d(kernel 2, stride 2) on channel-last pixels [..., C_in] → [B, pixels, 2, 2, C_out]."""
        c_in, c_out = conv.weight.shape[:2]
        weight = conv.weight.permute(0, 2, 3, 1).reshape(c_in, 4 * c_out)
        # One 2-D product with the bias (as one Gemm), not a 3-D product and an add over every output pixel.
        y = torch.addmm(conv.bias.repeat(4), x.reshape(-1, c_in), weight)
        return y.reshape(x.shape[0], -1, 2, 2, c_out)


class SamPromptDecoder(nn.Module):
    """(embeddings [1,C,64,64], points [B,P,2] in the 1024 frame, labels [B,P] (1 fg, 0 bg, −1 ignore)) →
    multimask low-res logits [B,3,256,256] and predicted IoUs [B,3]."""

    def __init__(self, cfg):
        super().__init__()
        self.grid = cfg['image_size'] // cfg['patch_size']
        self.prompt_encoder = PromptEncoder(cfg)
        self.mask_decoder = MaskDecoder(cfg)

    def forward(self, embeddings, points, labels):
        sparse = self.prompt_encoder.points(points.to(embeddings.dtype), labels.to(embeddings.dtype))
        dense = self.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
        image_pe = self.prompt_encoder.pe_layer.dense(self.grid).to(embeddings.dtype)
        return self.mask_decoder(embeddings, image_pe, dense, sparse)
