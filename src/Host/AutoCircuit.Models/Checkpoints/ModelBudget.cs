using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Checks a model's sizes (from <c>config.json</c> or a llama2.c header) against what the files can hold and what the
/// machine can give, before the model is built: a config that says <c>vocab_size</c> 2^31 or <c>n_layer</c> 10^9
/// otherwise allocates until libtorch fails or the process aborts. Counts are doubles, so no size overflows.
/// </summary>
internal static class ModelBudget
{
    /// <summary>Weights are at least 2 bytes per parameter on disk (float16/bfloat16; float32 and float64 take more).</summary>
    private const double MinBytesPerParameter = 2;

    /// <summary>
    /// Parameters the model allocates, counted from below (every family has at least these: embeddings, Q/K/V/O,
    /// two norms per layer, the MLP's two or three matrices, a final norm, an unembedding unless tied; extra norms and
    /// biases some families add are left out where the config does not say), so no real checkpoint is refused.
    /// </summary>
    public static double Parameters(TransformerConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        double d = c.DModel, v = c.VocabSize, l = c.Layers, h = c.Heads, g = c.KvHeads, dh = c.DHead, ff = c.DMlp;
        var norms = c.UsesLayerNorm ? 2 * d : d;
        var matrices = c.GatedMlp ? 3 : 2;
        var attention = (h * dh * d) + (2 * g * dh * d) + (h * dh * d) + (c.AttnBias ? (h * dh) + (2 * g * dh) : 0) + (c.AttnOutBias ? d : 0);
        var mlp = c.AttnOnly ? 0 : (matrices * d * ff) + (c.MlpBias ? ((matrices - 1) * ff) + d : 0);
        var layer = (2 * norms) + attention + mlp;
        var positions = c.Family == TransformerFamily.Gpt2 ? c.ContextLength * d : 0;
        return (v * d) + positions + (l * layer) + norms + (c.TiedEmbeddings ? 0 : v * d);
    }

    /// <summary>
    /// Refuses a config whose model cannot be in <paramref name="weightBytes"/> bytes of weights, or does not fit in the
    /// memory available in the compute dtype.
    /// </summary>
    /// <param name="config">The model's config.</param>
    /// <param name="source">The config file (or checkpoint) for the message.</param>
    /// <param name="weightBytes">The size of the weight files.</param>
    /// <param name="weights">What the weights are, for the message.</param>
    /// <param name="dtype">The dtype the weights are kept in (<c>--weight-dtype</c>, else <c>--dtype</c>).</param>
    /// <exception cref="AutoCircuitException">The sizes do not fit.</exception>
    public static void EnsureFits(TransformerConfig config, string source, long weightBytes, string weights, ScalarType dtype = ScalarType.Float32)
    {
        var parameters = Parameters(config);
        var sizes = string.Create(
            CultureInfo.InvariantCulture,
            $"vocab {config.VocabSize}, d_model {config.DModel}, {config.Layers} layers, {config.Heads} heads, d_mlp {config.DMlp}, " +
            $"context {config.ContextLength}");
        if (parameters * MinBytesPerParameter > weightBytes)
        {
            throw new AutoCircuitException(string.Create(
                CultureInfo.InvariantCulture,
                $"{source}: the config describes {parameters:0.###e0} parameters ({sizes}), at least {parameters * MinBytesPerParameter:0.###e0} " +
                $"bytes of weights, but the weights ({weights}) are {weightBytes} bytes; the config does not match the weights."));
        }

        var needed = parameters * (dtype is ScalarType.BFloat16 or ScalarType.Float16 ? 2 : dtype == ScalarType.Float64 ? 8 : 4);
        var available = AvailableMemoryBytes();
        if (needed > available)
        {
            var hint = dtype is ScalarType.Float32 or ScalarType.Float64
                ? " (--weight-dtype bfloat16 keeps the weight matrices in bfloat16, half of float32, and still computes in float32)."
                : ".";
            throw new AutoCircuitException(string.Create(
                CultureInfo.InvariantCulture,
                $"{source}: the model ({sizes}) needs {needed / (1L << 30):0.##} GiB as {dtype.ToString().ToLowerInvariant()}, more than the " +
                $"{available / (1L << 30):0.##} GiB of memory available{hint}"),
                ExitCode.DeviceUnavailable);
        }
    }

    /// <summary>The total size of <paramref name="files"/>, following symbolic links (a Hugging Face cache snapshot links
    /// each file to its blob; the link's own length is that of the path it holds).</summary>
    public static long SizeOf(IEnumerable<string> files) => files.Sum(SizeOf);

    private static long SizeOf(string file)
    {
        var info = new FileInfo(file);
        return info.LinkTarget is null ? info.Length : ((FileInfo?)info.ResolveLinkTarget(returnFinalTarget: true))?.Length ?? info.Length;
    }

    /// <summary>Memory the process can still use: <c>MemAvailable</c> of <c>/proc/meminfo</c>, capped by the GC's limit
    /// (a container's memory limit).</summary>
    private static double AvailableMemoryBytes()
    {
        double limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var kb = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                    return Math.Min(limit, kb * 1024);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // no /proc: the GC's figure
        }

        return limit;
    }
}
