using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>Sizes and kinds of element types.</summary>
internal static class DTypes
{
    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int Bytes(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>Whether <paramref name="type"/> is a real floating-point type.</summary>
    public static bool IsFloat(ScalarType type) =>
        type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>Parses <c>float32</c>, <c>bfloat16</c>/<c>bf16</c>, <c>float16</c>/<c>fp16</c>/<c>half</c>.</summary>
    /// <exception cref="AutoCircuitException">Anything else.</exception>
    public static ScalarType ParseBufferType(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "float32" or "fp32" or "float" => ScalarType.Float32,
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" or "half" => ScalarType.Float16,
            _ => throw new AutoCircuitException($"--patch-buffer-dtype {text}: expected float32, bfloat16 or float16."),
        };
    }
}
