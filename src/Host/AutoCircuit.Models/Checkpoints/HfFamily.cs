using AutoCircuit.Models.Transformers;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// One parameter of ours (<see cref="Transformer"/>'s TransformerLens names) and the checkpoint tensor it is made from.
/// A family's list of these is its whole checkpoint layout: the loader reads it, the random checkpoint writer writes it.
/// </summary>
/// <param name="Param">Our parameter, e.g. <c>blocks.0.attn.W_Q</c>.</param>
/// <param name="Tensor">The checkpoint's tensor, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Shape">The tensor's shape in the checkpoint.</param>
/// <param name="Transform">How the stored tensor becomes ours (a view, a transpose, a slice of a fused tensor); <c>null</c>: as stored.</param>
internal sealed record WeightSource(string Param, string Tensor, long[] Shape, Func<Tensor, Tensor>? Transform = null);

/// <summary>
/// A Hugging Face architecture (one or more <c>model_type</c>s): how its <c>config.json</c> becomes a
/// <see cref="TransformerConfig"/> (refusing, by field, what we do not implement) and where its tensors go.
/// tools/reference/FAMILIES.md states each family's maths; <see cref="HfCheckpoint"/> dispatches to these.
/// </summary>
internal abstract class HfFamily
{
    /// <summary>The <c>model_type</c>s this family reads.</summary>
    public abstract IReadOnlyList<string> ModelTypes { get; }

    /// <summary>Prefix of the base model's tensors in a <c>*ForCausalLM</c> checkpoint, e.g. <c>model.</c>.</summary>
    public abstract string BasePrefix { get; }

    /// <summary>Tensors outside the base model (the head), e.g. <c>lm_head.weight</c>.</summary>
    public virtual IReadOnlyCollection<string> RootNames => ["lm_head.weight"];

    /// <summary>The config; every unsupported value is refused naming its field.</summary>
    /// <exception cref="AutoCircuitException">A field is missing, mistyped or has a value we do not implement.</exception>
    public abstract TransformerConfig ReadConfig(HfConfig cfg, string name);

    /// <summary>Where every parameter of a model with <paramref name="config"/> comes from.</summary>
    public abstract IEnumerable<WeightSource> Weights(TransformerConfig config);

    /// <summary>Tensors a checkpoint may carry that we do not use (buffers, a tied head's copy).</summary>
    public virtual bool IsIgnored(string tensor, TransformerConfig config) =>
        tensor.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) ||
        (config.TiedEmbeddings && RootNames.Contains(tensor));

    /// <summary>An output projection <c>[d, H*dh]</c> (Linear layout) as ours, <c>[H, dh, d]</c>.</summary>
    internal static Func<Tensor, Tensor> HeadsFirst(long heads, long dh) =>
        wo => wo.view(wo.size(0), heads, dh).permute(1, 2, 0); // [d, H, dh] -> [H, dh, d]

    /// <summary>A list of supported values for a refusal's message.</summary>
    internal static string OneOf(params string[] values) => string.Join(", ", values);
}
