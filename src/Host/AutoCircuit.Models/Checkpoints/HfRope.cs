using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Reads a rotary embedding's base and <c>rope_scaling</c> from a Hugging Face config (the legacy key <c>type</c> and
/// the current <c>rope_type</c>; transformers v5's <c>rope_parameters</c>, which also holds the base).
/// </summary>
internal static class HfRope
{
    /// <summary>The supported <c>rope_type</c> values.</summary>
    public const string Supported = "default, linear, dynamic, yarn, llama3";

    /// <summary>The base (<paramref name="thetaField"/>, else <c>rope_parameters.rope_theta</c>, else <paramref name="fallback"/>) and the scaling.</summary>
    /// <exception cref="AutoCircuitException">An unknown <c>rope_type</c>, or a missing field the type needs.</exception>
    public static (double Theta, RopeScaling? Scaling) Read(HfConfig cfg, string thetaField = "rope_theta", double fallback = 10000)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var section = cfg.Section("rope_scaling") ?? cfg.Section("rope_parameters");
        var theta = cfg.OptionalDouble(thetaField) ?? section?.OptionalDouble("rope_theta") ?? fallback;
        return (theta, section is null ? null : Scaling(section));
    }

    /// <summary>A <c>rope_scaling</c> / <c>rope_parameters</c> object; <c>null</c> for the default type.</summary>
    public static RopeScaling? Scaling(HfConfig s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var typeField = s.Has("rope_type") ? "rope_type" : "type";
        var type = s.String(typeField) ?? "default";
        RopeScalingType kind = type switch
        {
            "default" => default,
            "linear" => RopeScalingType.Linear,
            "dynamic" => RopeScalingType.Dynamic,
            "yarn" => RopeScalingType.Yarn,
            "llama3" => RopeScalingType.Llama3,
            _ => throw s.Unsupported(typeField, Supported),
        };
        if (type == "default")
        {
            return null;
        }

        var factor = s.OptionalDouble("factor") ?? throw new AutoCircuitException($"{s.Path}: missing field '{s.FieldPrefix}factor'.");
        var scaling = new RopeScaling(
            kind,
            factor,
            OriginalContext: s.OptionalInt("original_max_position_embeddings"),
            LowFreqFactor: s.OptionalDouble("low_freq_factor"),
            HighFreqFactor: s.OptionalDouble("high_freq_factor"),
            BetaFast: s.OptionalDouble("beta_fast"),
            BetaSlow: s.OptionalDouble("beta_slow"),
            AttentionFactor: s.OptionalDouble("attention_factor"),
            Mscale: s.OptionalDouble("mscale"),
            MscaleAllDim: s.OptionalDouble("mscale_all_dim"),
            Truncate: s.Bool("truncate", true));
        if (kind == RopeScalingType.Llama3)
        {
            foreach (var field in new[] { "original_max_position_embeddings", "low_freq_factor", "high_freq_factor" })
            {
                if (!s.Has(field))
                {
                    throw new AutoCircuitException($"{s.Path}: missing field '{s.FieldPrefix}{field}' (llama3 rope scaling needs it).");
                }
            }
        }

        return scaling;
    }
}
