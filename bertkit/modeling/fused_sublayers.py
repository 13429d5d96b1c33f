"""A BERT layer's attention-output and feed-forward sublayers as one autograd function each (a speed-up of
bertkit.modeling.packing on CPU; same maths, bit for bit).

The stock sublayers (dense, dropout, residual add, LayerNorm; and for the feed-forward the intermediate dense and
GELU before them) are about a dozen autograd nodes each, with autocast's casts between them. Here each sublayer is
one function with a hand-written backward that runs the same kernels on the same dtypes in the same order: bf16
matmuls under bf16 autocast (weights cast once per step, as autocast does), the dropout mask of
bertkit.modeling.speedups.keep_mask from the same random words, the residual sum and LayerNorm in fp32. Loss and
gradients are bit-identical to the stock sublayers' (tests/modeling/test_fused_sublayers.py).
"""

from __future__ import annotations

from typing import Any


def fusable(layer: Any, tokens: Any) -> bool:
    """Whether this layer's sublayers can run fused here: CPU, training with bertkit's dropout masks (p < 1), torch's
    exact GELU, fp32 weights with biases, plain LayerNorms."""
    import torch

    output, attended, inner = layer.output, layer.attention.output, layer.intermediate
    dense = (inner.dense, output.dense, attended.dense)
    return (
        tokens.device.type == "cpu"
        and layer.training
        and getattr(getattr(inner, "intermediate_act_fn", None), "act", None) is torch.nn.functional.gelu
        and all(type(m) is torch.nn.Linear and m.bias is not None and m.weight.dtype == torch.float32 for m in dense)
        and all(type(m.LayerNorm) is torch.nn.LayerNorm for m in (output, attended))
        and all(getattr(type(m.dropout), "_bertkit_kind", None) == "dropout" for m in (output, attended))
        and output.dropout.p < 1.0
        and attended.dropout.p < 1.0
    )


def attention_output(module: Any, context: Any, tokens: Any) -> Any:
    """``module`` (BertSelfOutput-like): LayerNorm(dropout(dense(context)) + tokens)."""
    norm = module.LayerNorm
    p = module.dropout.p
    return _Lazy.get("output").apply(
        context, module.dense.weight, module.dense.bias, tokens, norm.weight, norm.bias, norm.eps, p
    )


def feed_forward(layer: Any, attended: Any) -> Any:
    """LayerNorm(dropout(output.dense(GELU(intermediate.dense(attended)))) + attended)."""
    inner, output = layer.intermediate.dense, layer.output
    norm = output.LayerNorm
    return _Lazy.get("feed_forward").apply(
        attended, inner.weight, inner.bias, output.dense.weight, output.dense.bias, norm.weight, norm.bias, norm.eps,
        output.dropout.p,
    )  # fmt: skip


def _compute_dtype(x: Any) -> Any:
    import torch

    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype


def _output_forward(x: Any, weight: Any, bias: Any, residual: Any, norm: tuple, p: float) -> tuple[Any, list]:
    """LayerNorm(dropout(x @ weight.T + bias) + residual): the output and what its backward needs."""
    import torch

    from bertkit.modeling.speedups import keep_mask

    dtype = x.dtype
    w = weight.to(dtype)
    out = torch.addmm(bias.to(dtype), x, w.t())
    scale = 1.0 / (1.0 - p) if p > 0.0 else 1.0
    keep = None
    if p > 0.0:
        keep = keep_mask(tuple(out.shape), p, out.device).to(dtype)
        out = out * keep * scale
    summed = out + residual
    norm_weight, norm_bias, eps = norm
    y, mean, rstd = torch.native_layer_norm(summed, (summed.shape[-1],), norm_weight, norm_bias, eps)
    return y, [x, w, keep, summed, mean, rstd, norm_weight, norm_bias, scale]


def _output_backward(saved: list, grad: Any) -> tuple:
    """Gradients for x, weight, bias, residual, LayerNorm weight and bias (in the stock order and dtypes)."""
    import torch

    x, w, keep, summed, mean, rstd, norm_weight, norm_bias, scale = saved
    shape = (summed.shape[-1],)
    grad_sum, grad_norm_weight, grad_norm_bias = torch.ops.aten.native_layer_norm_backward(
        grad, summed, shape, mean, rstd, norm_weight, norm_bias, [True, True, True]
    )
    grad_out = grad_sum.to(x.dtype)
    if keep is not None:
        grad_out = grad_out * scale * keep
    grad_weight = grad_out.t().mm(x).float()
    grad_bias = grad_out.sum(0).float()
    return grad_out.mm(w), grad_weight, grad_bias, grad_sum, grad_norm_weight, grad_norm_bias


def _functions() -> dict[str, Any]:
    import torch

    def save(ctx: Any, saved: list) -> None:
        ctx.save_for_backward(*[t if isinstance(t, torch.Tensor) else None for t in saved])
        ctx.constants = [None if isinstance(t, torch.Tensor) else t for t in saved]

    def restore(ctx: Any) -> list:
        return [t if c is None else c for t, c in zip(ctx.saved_tensors, ctx.constants, strict=True)]

    class AttentionOutput(torch.autograd.Function):
        @staticmethod
        def forward(ctx, context, weight, bias, tokens, norm_weight, norm_bias, eps, p):
            cast = context.to(_compute_dtype(context))
            y, saved = _output_forward(cast, weight, bias, tokens, (norm_weight, norm_bias, eps), p)
            save(ctx, saved)
            ctx.context_dtype = context.dtype
            return y

        @staticmethod
        def backward(ctx, grad):
            grad_context, *grads = _output_backward(restore(ctx), grad)
            return grad_context.to(ctx.context_dtype), *grads, None, None

    class FeedForward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, inner_weight, inner_bias, weight, bias, norm_weight, norm_bias, eps, p):
            dtype = _compute_dtype(x)
            x_cast, inner = x.to(dtype), inner_weight.to(dtype)
            hidden = torch.addmm(inner_bias.to(dtype), x_cast, inner.t())
            activated = torch.nn.functional.gelu(hidden)
            y, saved = _output_forward(activated, weight, bias, x, (norm_weight, norm_bias, eps), p)
            save(ctx, [x_cast, inner, hidden, *saved])
            return y

        @staticmethod
        def backward(ctx, grad):
            x_cast, inner, hidden, *saved = restore(ctx)
            grad_activated, grad_weight, grad_bias, grad_residual, *grad_norm = _output_backward(saved, grad)
            grad_hidden = torch.ops.aten.gelu_backward(grad_activated, hidden)
            grad_x = grad_hidden.mm(inner).to(grad_residual.dtype) + grad_residual
            grad_inner = grad_hidden.t().mm(x_cast).float()
            grad_inner_bias = grad_hidden.sum(0).float()
            return grad_x, grad_inner, grad_inner_bias, grad_weight, grad_bias, *grad_norm, None, None

    return {"output": AttentionOutput, "feed_forward": FeedForward}


class _Lazy:
    """The autograd functions, built on first use (torch is imported lazily across bertkit)."""

    functions: dict[str, Any] | None = None

    @staticmethod
    def get(name: str) -> Any:
        if _Lazy.functions is None:
            _Lazy.functions = _functions()
        return _Lazy.functions[name]
