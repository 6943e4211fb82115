using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (W_in, b_in, ...).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// The MLP on normalised input <c>[B, T, d]</c>: dense <c>W_out(act(W_in x))</c> (GPT-2, GPT-NeoX) or gated
/// <c>W_out(act(W_gate x) * W_in x)</c> (Llama style: SwiGLU with SiLU, Gemma's GeGLU with tanh-GELU).
/// </summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_in; // [d_mlp, d] (Llama: w3 / up_proj; GPT-NeoX: dense_h_to_4h)
    private readonly Parameter? b_in; // [d_mlp]
    private readonly Parameter? W_gate; // [d_mlp, d] (Llama: w1 / gate_proj), gated MLPs only
    private readonly Parameter? b_gate; // [d_mlp]
    private readonly Parameter W_out; // [d, d_mlp] (Llama: w2 / down_proj)
    private readonly Parameter? b_out; // [d]
    private readonly MlpActivation _activation;

    public Mlp(TransformerConfig config, ScalarType dtype, ScalarType weightDType)
        : base("Mlp")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DModel <= 0 || config.DMlp <= 0)
        {
            throw new ArgumentException($"An MLP needs positive widths; got DModel {config.DModel}, DMlp {config.DMlp}.", nameof(config));
        }

        _activation = config.Activation;
        W_in = new Parameter(torch.empty(config.DMlp, config.DModel, dtype: weightDType));
        W_out = new Parameter(torch.empty(config.DModel, config.DMlp, dtype: weightDType));
        if (config.GatedMlp)
        {
            W_gate = new Parameter(torch.empty(config.DMlp, config.DModel, dtype: weightDType));
        }

        if (config.MlpBias)
        {
            b_in = new Parameter(torch.zeros(config.DMlp, dtype: dtype));
            b_out = new Parameter(torch.zeros(config.DModel, dtype: dtype));
            b_gate = W_gate is null ? null : new Parameter(torch.zeros(config.DMlp, dtype: dtype));
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var pre = StoredWeights.Linear(x, W_in, b_in); // [B, T, d_mlp]
        var hidden = W_gate is not null ? Activate(StoredWeights.Linear(x, W_gate, b_gate)) * pre : Activate(pre);
        return scope.MoveToOuter(StoredWeights.Linear(hidden, W_out, b_out)); // [B, T, d]
    }

    private Tensor Activate(Tensor x) => _activation switch
    {
        MlpActivation.GeluNew => GeluNew(x),
        MlpActivation.Gelu => F.gelu(x),
        MlpActivation.Relu => F.relu(x),
        MlpActivation.Silu => F.silu(x),
        _ => throw new InvalidOperationException($"Unknown activation {_activation}."),
    };

    /// <summary>GPT-2's GELU: <c>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))</c>, written out as Hugging Face does.</summary>
    private static Tensor GeluNew(Tensor x)
    {
        var inner = (x + (x.pow(3.0) * 0.044715)) * Math.Sqrt(2.0 / Math.PI);
        return (x * 0.5) * (inner.tanh() + 1.0);
    }
}
