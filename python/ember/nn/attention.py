"""Attention and the transformer encoder layer, with torch's names, arguments and defaults:
scaled_dot_product_attention, MultiheadAttention (in_proj_weight / in_proj_bias / out_proj),
TransformerEncoderLayer, and sinusoidal or learned positional embeddings. The attention math
runs in C++ (ember._C._attention) over ops that carry their own backward."""
from __future__ import annotations

import math

from .. import _C
from . import functional as F
from . import init
from .layers import Dropout, LayerNorm, Linear, _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "generate_square_subsequent_mask",
           "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "SinusoidalPositionalEmbedding",
           "LearnedPositionalEmbedding"]

_attn = _C._attention


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """torch.nn.functional.scaled_dot_product_attention: a bool attn_mask marks the positions that
    MAY be attended to; a float one is added to the scores."""
    return _attn.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale, False)[0]


multi_head_attention_forward = _attn.multi_head_attention_forward


def generate_square_subsequent_mask(sz, device=None, dtype=None):
    """Float [sz, sz] mask: 0 where j <= i, -inf above the diagonal (torch.nn.Transformer's)."""
    allowed = _attn.causal_mask(sz, sz)
    dt = _dtype(device, dtype)
    return _C.where(allowed, _C.zeros((), dt), _C.full((), float("-inf"), dt))


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: forward(query, key, value, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False) ->
    (attn_output, attn_weights or None). Bool masks mark positions NOT allowed to attend."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("add_bias_kv and add_zero_attn are not supported")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        dt = _dtype(device, dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_C.empty((3 * embed_dim, embed_dim), dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(_C.empty((embed_dim, embed_dim), dt))
            self.k_proj_weight = Parameter(_C.empty((embed_dim, self.kdim), dt))
            self.v_proj_weight = Parameter(_C.empty((embed_dim, self.vdim), dt))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_C.empty((3 * embed_dim,), dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        return _attn.multi_head_attention_forward(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight,
            self.out_proj.bias, key_padding_mask, attn_mask, need_weights, average_attn_weights, self.dropout,
            self.training, self.batch_first, is_causal, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with dropout,
    a residual connection and LayerNorm (after, or before with norm_first=True)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise RuntimeError(f"activation should be relu/gelu, not {activation}")
            activation = _ACTIVATIONS[activation]
        self.activation = activation
        self.batch_first = batch_first

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """A stack of num_layers copies of encoder_layer (each with its own weights), optional final norm."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        # enable_nested_tensor / mask_check tune torch's inference fast path; accepted and unused
        super().__init__()
        from .containers import ModuleList

        self.layers = ModuleList([_clone(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return self.norm(x) if self.norm is not None else x


def _clone(module):
    """A deep copy with its own parameters and buffers (tensors are copied by value; the memo
    keeps deepcopy from trying to pickle them)."""
    import copy

    memo = {}
    for p in module.parameters():
        memo[id(p)] = Parameter(p.detach().clone(), p.requires_grad)
    for b in module.buffers():
        memo[id(b)] = b.clone()
    return copy.deepcopy(module, memo)


class SinusoidalPositionalEmbedding(Module):
    """Adds the fixed sin/cos table of "Attention Is All You Need" to x [L, N, E] ([N, L, E] with
    batch_first) or [L, E]; the table is a non-persistent buffer of max_len rows."""

    def __init__(self, embedding_dim, max_len=5000, batch_first=False, device=None, dtype=None):
        super().__init__()
        self.embedding_dim, self.max_len, self.batch_first = embedding_dim, max_len, batch_first
        self.register_buffer("pe", _attn.sinusoidal_positional_encoding(max_len, embedding_dim, _dtype(device, dtype)),
                             persistent=False)

    def forward(self, x):
        return x + _positions(self.pe, x, self.batch_first, self.max_len)

    def extra_repr(self):
        return f"{self.embedding_dim}, max_len={self.max_len}"


class LearnedPositionalEmbedding(Module):
    """Adds a learned table weight [max_len, embedding_dim] (N(0, 1) init, as nn.Embedding) to x,
    position p getting row p."""

    def __init__(self, max_len, embedding_dim, batch_first=False, device=None, dtype=None):
        super().__init__()
        self.embedding_dim, self.max_len, self.batch_first = embedding_dim, max_len, batch_first
        self.weight = Parameter(_C.empty((max_len, embedding_dim), _dtype(device, dtype)))
        init.normal_(self.weight)

    def forward(self, x):
        return x + _positions(self.weight, x, self.batch_first, self.max_len)

    def extra_repr(self):
        return f"{self.max_len}, {self.embedding_dim}"


def _positions(table, x, batch_first, max_len):
    """The first L rows of table, shaped to broadcast against x."""
    if x.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D or 3-D input, got shape {tuple(x.shape)}")
    L = x.shape[1] if (batch_first and x.ndim == 3) else x.shape[0]
    if L > max_len:
        raise ValueError(f"sequence length {L} exceeds max_len {max_len}")
    rows = table[:L]
    if x.ndim == 3 and not batch_first:
        rows = rows.unsqueeze(1)
    return rows
