using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (w, b).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// LayerNorm (GPT-2 family) or RMSNorm (Llama family) over the last axis, so it normalises a residual
/// <c>[B, T, d]</c> and per-head copies of it <c>[B, T, H, d]</c> / <c>[H, B, T, d]</c> alike.
/// </summary>
internal sealed class Norm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter w; // [d]
    private readonly Parameter? b; // [d], LayerNorm only
    private readonly long _d;
    private readonly double _eps;

    public Norm(TransformerConfig config)
        : base("Norm")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DModel <= 0 || !(config.NormEps > 0))
        {
            throw new ArgumentException(
                $"A norm needs a positive width and epsilon; got DModel {config.DModel}, NormEps {config.NormEps}.", nameof(config));
        }

        _d = config.DModel;
        _eps = config.NormEps;
        w = new Parameter(torch.ones(_d));
        b = config.Family == TransformerFamily.Gpt2 ? new Parameter(torch.zeros(_d)) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (b is not null)
        {
            return F.layer_norm(x, [_d], w, b, _eps);
        }

        // RMSNorm written out as llama2.c and Hugging Face do: x * rsqrt(mean(x^2) + eps) * w.
        using var scope = torch.NewDisposeScope();
        var meanSquare = x.square().mean([-1L], keepdim: true); // [..., 1]
        var normed = x * (meanSquare + _eps).rsqrt();
        return scope.MoveToOuter(normed * w);
    }
}
