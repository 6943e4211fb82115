using System.Globalization;

namespace AutoCircuit.Engine.Hooks;

/// <summary>
/// Names of hook points: TransformerLens' for transformers, auto-circuit's for its micro model. They are the module
/// names of graph nodes and the keys of score files, so known circuits and papers map 1:1; every model, graph builder
/// and tool takes them from here.
/// </summary>
public static class HookNames
{
    /// <summary>Axis of a per-head hook point's activation that holds the heads: <c>[batch, seq, head, d]</c>.</summary>
    public const int HeadAxis = 2;

    private const string BlockPrefix = "blocks.";

    /// <summary>Block input, <c>blocks.{layer}.hook_resid_pre</c> (<c>Resid Start</c> at layer 0).</summary>
    public static string ResidPre(int layer) => Block(layer, "hook_resid_pre");

    /// <summary>Residual between attention and MLP, <c>blocks.{layer}.hook_resid_mid</c>.</summary>
    public static string ResidMid(int layer) => Block(layer, "hook_resid_mid");

    /// <summary>Block output, <c>blocks.{layer}.hook_resid_post</c> (<c>Resid End</c> at the last layer).</summary>
    public static string ResidPost(int layer) => Block(layer, "hook_resid_post");

    /// <summary>Per-head attention input, <c>blocks.{layer}.hook_attn_in</c> <c>[B, T, H, d]</c> (no separate Q/K/V).</summary>
    public static string AttnIn(int layer) => Block(layer, "hook_attn_in");

    /// <summary>Per-head query input, <c>blocks.{layer}.hook_q_input</c> <c>[B, T, H, d]</c>.</summary>
    public static string QInput(int layer) => Block(layer, "hook_q_input");

    /// <summary>Per-key/value-head key input, <c>blocks.{layer}.hook_k_input</c> <c>[B, T, G, d]</c>.</summary>
    public static string KInput(int layer) => Block(layer, "hook_k_input");

    /// <summary>Per-key/value-head value input, <c>blocks.{layer}.hook_v_input</c> <c>[B, T, G, d]</c>.</summary>
    public static string VInput(int layer) => Block(layer, "hook_v_input");

    /// <summary>The Q, K or V input by its letter (<see cref="QInput"/>, <see cref="KInput"/>, <see cref="VInput"/>).</summary>
    public static string QkvInput(int layer, char letter) => letter switch
    {
        'Q' => QInput(layer),
        'K' => KInput(layer),
        'V' => VInput(layer),
        _ => throw new ArgumentOutOfRangeException(nameof(letter), letter, "Expected 'Q', 'K' or 'V'."),
    };

    /// <summary>Per-head attention output after <c>W_O</c>, <c>blocks.{layer}.attn.hook_result</c> <c>[B, T, H, d]</c>.</summary>
    public static string AttnResult(int layer) => Block(layer, "attn.hook_result");

    /// <summary>Attention pattern, <c>blocks.{layer}.attn.hook_pattern</c> <c>[B, H, T, S]</c> (not a graph node).</summary>
    public static string AttnPattern(int layer) => Block(layer, "attn.hook_pattern");

    /// <summary>MLP input, <c>blocks.{layer}.hook_mlp_in</c> (before the norm).</summary>
    public static string MlpIn(int layer) => Block(layer, "hook_mlp_in");

    /// <summary>MLP output, <c>blocks.{layer}.hook_mlp_out</c>.</summary>
    public static string MlpOut(int layer) => Block(layer, "hook_mlp_out");

    /// <summary>
    /// The block a <c>blocks.{i}.…</c> name belongs to (transformer hook points and the micro model's head hooks);
    /// <c>false</c> for any other name.
    /// </summary>
    public static bool TryGetBlock(string name, out int block)
    {
        ArgumentNullException.ThrowIfNull(name);
        block = -1;
        if (!name.StartsWith(BlockPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var end = name.IndexOf('.', BlockPrefix.Length);
        return end > BlockPrefix.Length
            && int.TryParse(name.AsSpan(BlockPrefix.Length, end - BlockPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out block);
    }

    private static string Block(int layer, string leaf)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        return string.Create(CultureInfo.InvariantCulture, $"{BlockPrefix}{layer}.{leaf}");
    }

    /// <summary>auto-circuit's micro model (<c>model_utils/micro_model_utils.py</c>).</summary>
    public static class Micro
    {
        /// <summary>Model input <c>[B, T, 2]</c> (<c>Resid Start</c>).</summary>
        public const string Input = "input";

        /// <summary>Model output <c>[B, T, 2]</c> (<c>Resid End</c>).</summary>
        public const string Output = "output";

        /// <summary>Per-head inputs of a block, <c>blocks.{layer}.head_inputs</c> <c>[B, T, H, 2]</c>.</summary>
        public static string HeadInputs(int layer) => Block(layer, "head_inputs");

        /// <summary>Per-head outputs of a block, <c>blocks.{layer}.head_outputs</c> <c>[B, T, H, 2]</c>.</summary>
        public static string HeadOutputs(int layer) => Block(layer, "head_outputs");

        /// <summary>Residual after a block, <c>resids.{layer}</c>.</summary>
        public static string Resid(int layer)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(layer);
            return string.Create(CultureInfo.InvariantCulture, $"resids.{layer}");
        }
    }
}
