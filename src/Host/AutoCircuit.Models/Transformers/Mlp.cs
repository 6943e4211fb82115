using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (W_in, b_in, ...).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// The MLP on normalised input <c>[B, T, d]</c>: dense with GELU/ReLU (GPT-2 family) or SwiGLU
/// <c>W_out(silu(W_gate x) * W_in x)</c> (Llama family).
/// </summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_in; // [d_mlp, d] (Llama: w3 / up_proj)
    private readonly Parameter? b_in; // [d_mlp]
    private readonly Parameter? W_gate; // [d_mlp, d] (Llama: w1 / gate_proj)
    private readonly Parameter? b_gate; // [d_mlp]
    private readonly Parameter W_out; // [d, d_mlp] (Llama: w2 / down_proj)
    private readonly Parameter? b_out; // [d]
    private readonly MlpActivation _activation;

    public Mlp(TransformerConfig config)
        : base("Mlp")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DModel <= 0 || config.DMlp <= 0)
        {
            throw new ArgumentException($"An MLP needs positive widths; got DModel {config.DModel}, DMlp {config.DMlp}.", nameof(config));
        }

        _activation = config.Activation;
        W_in = new Parameter(torch.empty(config.DMlp, config.DModel));
        W_out = new Parameter(torch.empty(config.DModel, config.DMlp));
        if (config.Family == TransformerFamily.Llama)
        {
            W_gate = new Parameter(torch.empty(config.DMlp, config.DModel));
        }

        if (config.MlpBias)
        {
            b_in = new Parameter(torch.zeros(config.DMlp));
            b_out = new Parameter(torch.zeros(config.DModel));
            b_gate = W_gate is null ? null : new Parameter(torch.zeros(config.DMlp));
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var pre = F.linear(x, W_in, b_in); // [B, T, d_mlp]
        var hidden = W_gate is not null
            ? F.silu(F.linear(x, W_gate, b_gate)) * pre
            : _activation switch
            {
                MlpActivation.GeluNew => GeluNew(pre),
                MlpActivation.Gelu => F.gelu(pre),
                MlpActivation.Relu => F.relu(pre),
                _ => throw new InvalidOperationException($"Unknown activation {_activation}."),
            };
        return scope.MoveToOuter(F.linear(hidden, W_out, b_out)); // [B, T, d]
    }

    /// <summary>GPT-2's GELU: <c>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))</c>, written out as Hugging Face does.</summary>
    private static Tensor GeluNew(Tensor x)
    {
        var inner = (x + (x.pow(3.0) * 0.044715)) * Math.Sqrt(2.0 / Math.PI);
        return (x * 0.5) * (inner.tanh() + 1.0);
    }
}
