using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (w, b).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// LayerNorm (GPT-2, GPT-NeoX) or RMSNorm (Llama style) over the last axis, so it normalises a residual
/// <c>[B, T, d]</c> and per-head copies of it <c>[B, T, H, d]</c> / <c>[H, B, T, d]</c> alike. RMSNorm scales by
/// <c>w + offset</c> (Gemma stores <c>w</c> and uses <c>1 + w</c>) and, as Hugging Face, computes in float32 whatever
/// the compute dtype.
/// </summary>
internal sealed class Norm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter w; // [d]
    private readonly Parameter? b; // [d], LayerNorm only
    private readonly long _d;
    private readonly double _eps;
    private readonly double _offset;

    public Norm(long width, double eps, bool layerNorm, double weightOffset, ScalarType dtype)
        : base("Norm")
    {
        if (width <= 0 || !(eps > 0))
        {
            throw new ArgumentException($"A norm needs a positive width and epsilon; got width {width}, eps {eps}.", nameof(width));
        }

        (_d, _eps, _offset) = (width, eps, weightOffset);
        w = new Parameter(torch.ones(_d, dtype: dtype));
        b = layerNorm ? new Parameter(torch.zeros(_d, dtype: dtype)) : null;
        RegisterComponents();
    }

    /// <summary>The block and final norms of <paramref name="config"/> (width d_model).</summary>
    public static Norm For(TransformerConfig config, ScalarType dtype) => For(config, config.DModel, dtype);

    /// <summary>A norm of <paramref name="config"/>'s kind over <paramref name="width"/> values.</summary>
    public static Norm For(TransformerConfig config, long width, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new Norm(width, config.NormEps, config.UsesLayerNorm, config.NormWeightOffset, dtype);
    }

    /// <summary>Values normalised together (the last axis).</summary>
    public long Width => _d;

    public override Tensor forward(Tensor x)
    {
        if (b is not null)
        {
            return F.layer_norm(x, [_d], w, b, _eps);
        }

        // x * rsqrt(mean(x^2) + eps) * (w + offset), written out as llama2.c and Hugging Face do.
        using var scope = torch.NewDisposeScope();
        var x32 = x.to_type(ScalarType.Float32);
        var normed = x32 * (x32.square().mean([-1L], keepdim: true) + _eps).rsqrt(); // [..., d]
        return scope.MoveToOuter((normed * Gain()).to_type(x.dtype));
    }

    /// <summary>
    /// RMSNorm only: the float32 factor <c>[..., d]</c> with <c>forward(x) = x * factor</c>, i.e.
    /// <c>rsqrt(mean(x^2) + eps) * (w + offset)</c>. A post-attention norm scales each head's share with it.
    /// </summary>
    public Tensor Scale(Tensor x)
    {
        if (b is not null)
        {
            throw new InvalidOperationException("LayerNorm is not a scale of its input (it centres and adds a bias).");
        }

        using var scope = torch.NewDisposeScope();
        var x32 = x.to_type(ScalarType.Float32);
        var meanSquare = x32.square().mean([-1L], keepdim: true); // [..., 1]
        return scope.MoveToOuter((meanSquare + _eps).rsqrt() * Gain()); // [..., d]
    }

    /// <summary><c>w + offset</c> in float32 <c>[d]</c>.</summary>
    private Tensor Gain()
    {
        var weight = w.to_type(ScalarType.Float32);
        return _offset == 0 ? weight : weight + _offset;
    }
}
