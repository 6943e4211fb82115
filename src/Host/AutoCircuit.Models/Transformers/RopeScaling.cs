using System.Globalization;

namespace AutoCircuit.Models.Transformers;

/// <summary>How a rotary embedding stretches its frequencies for long contexts (Hugging Face's <c>rope_scaling</c>).</summary>
public enum RopeScalingType
{
    /// <summary>Positions interpolated: every frequency divided by the factor.</summary>
    Linear,

    /// <summary>Dynamic NTK: the base grows with the sequence once it is longer than the trained context.</summary>
    Dynamic,

    /// <summary>YaRN (Peng et al. 2023): high frequencies kept, low ones interpolated, a ramp between; attention scaled.</summary>
    Yarn,

    /// <summary>Llama 3.1: three frequency bands (kept, smoothly interpolated, divided by the factor).</summary>
    Llama3,
}

/// <summary>
/// Hugging Face's <c>rope_scaling</c> (<c>modeling_rope_utils.py</c>); the frequencies it gives are computed by
/// <see cref="Rotary.InverseFrequencies"/>. Unset fields take Hugging Face's defaults.
/// </summary>
/// <param name="Type">The method.</param>
/// <param name="Factor">How much longer the context becomes.</param>
/// <param name="OriginalContext">The context the model was trained on (<c>original_max_position_embeddings</c>; yarn:
/// default the model's context; llama3: required).</param>
/// <param name="LowFreqFactor">llama3: wavelengths above <c>OriginalContext / LowFreqFactor</c> are divided by the factor.</param>
/// <param name="HighFreqFactor">llama3: wavelengths below <c>OriginalContext / HighFreqFactor</c> are kept.</param>
/// <param name="BetaFast">yarn: rotations at which the ramp starts (default 32).</param>
/// <param name="BetaSlow">yarn: rotations at which the ramp ends (default 1).</param>
/// <param name="AttentionFactor">yarn: scale of cos/sin (so of q·k, squared); default <c>0.1 ln(factor) + 1</c>.</param>
/// <param name="Mscale">yarn: with <paramref name="MscaleAllDim"/>, the attention factor's ratio form.</param>
/// <param name="MscaleAllDim">yarn: see <paramref name="Mscale"/>.</param>
/// <param name="Truncate">yarn: round the ramp's ends to whole dimensions (default true).</param>
public sealed record RopeScaling(
    RopeScalingType Type,
    double Factor,
    int? OriginalContext = null,
    double? LowFreqFactor = null,
    double? HighFreqFactor = null,
    double? BetaFast = null,
    double? BetaSlow = null,
    double? AttentionFactor = null,
    double? Mscale = null,
    double? MscaleAllDim = null,
    bool Truncate = true)
{
    /// <summary>A short description, e.g. <c>llama3 x8</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Type.ToString().ToLowerInvariant()} x{Factor:0.###}");
}
