using System.Text.Encodings.Web;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Transformers;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Toy;

/// <summary>What <c>train-toy</c> measured about a toy model; stored in its safetensors metadata.</summary>
/// <param name="Recipe">The command that reproduces the weights.</param>
/// <param name="Options">The training options.</param>
/// <param name="HeldOut">Accuracy on held-out prompts.</param>
/// <param name="Heads">Attention scores of every head.</param>
/// <param name="Found">The heads identified from them.</param>
/// <param name="Circuit">The task's known circuit (edge names of the factorized graph with separate Q/K/V).</param>
/// <param name="MatchPath">The query/key half of the mechanism (not part of the known circuit; see ToyCircuit in the host).</param>
/// <param name="Evidence">Patching evidence for the circuit.</param>
public sealed record ToyModelInfo(
    string Recipe,
    ToyTrainOptions Options,
    ToyAccuracy HeldOut,
    HeadScores Heads,
    InductionHeads Found,
    IReadOnlyList<string> Circuit,
    IReadOnlyList<string> MatchPath,
    CircuitEvidence Evidence);

/// <summary>
/// The embedded default model (<c>toy-induction</c>): weights and measurements in one safetensors
/// file, trained by <c>dotnet autocircuit train-toy</c> and shipped as an embedded resource of this
/// assembly, so a fresh clone runs a meaningful default job with nothing downloaded.
/// </summary>
public static class ToyModel
{
    /// <summary>The built-in model name.</summary>
    public const string Name = "toy-induction";

    /// <summary>The file name <c>train-toy</c> writes and the resource carries.</summary>
    public const string FileName = "toy-induction.safetensors";

    /// <summary>Seed of the held-out prompts <c>train-toy</c> measures on (training draws from <c>seed + 1</c>).</summary>
    public const long HeldOutSeed = 1_000_003;

    /// <summary>Held-out prompts measured by <c>train-toy</c>.</summary>
    public const int HeldOutPrompts = 2048;

    /// <summary>Held-out prompts the circuit is checked on (another seed).</summary>
    public const int VerificationPrompts = 512;

    private const string ResourceName = "AutoCircuit.Models.Toy." + FileName;

    /// <summary>JSON of <see cref="ToyModelInfo"/> (edge names keep their <c>-&gt;</c>).</summary>
    public static JsonSerializerOptions Json { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Lazy<(byte[] Bytes, ToyModelInfo Info)> Embedded = new(() =>
    {
        using var stream = typeof(ToyModel).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(ToyModel).Assembly.GetName().Name}.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var bytes = memory.ToArray();
        var (tensors, metadata) = Safetensors.Read(bytes, ResourceName);
        foreach (var (_, t) in tensors)
        {
            t.Dispose();
        }

        return (bytes, ReadInfo(metadata, ResourceName));
    });

    /// <summary>The measurements stored with the embedded model.</summary>
    public static ToyModelInfo EmbeddedInfo => Embedded.Value.Info;

    /// <summary>Writes the weights (float32, parameter order) and the measurements as metadata.</summary>
    public static void Save(Transformer model, ToyModelInfo info, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(info);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "autocircuit-toy-induction/1",
            ["info"] = JsonSerializer.Serialize(info, Json),
        };
        Safetensors.Write(path, model.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter)), metadata);
    }

    /// <summary>Loads a model written by <see cref="Save"/>, or the embedded one when <paramref name="path"/> is <c>null</c>.</summary>
    /// <exception cref="AutoCircuitException">Not a toy model file, or weights that do not fit the architecture.</exception>
    public static (Transformer Model, ToyModelInfo Info) Load(string? path = null)
    {
        List<KeyValuePair<string, Tensor>> tensors;
        Dictionary<string, string> metadata;
        var source = path ?? ResourceName;
        try
        {
            (tensors, metadata) = path is null ? Safetensors.Read(Embedded.Value.Bytes, source) : Safetensors.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new AutoCircuitException(e.Message, ExitCode.UsageError, e);
        }

        try
        {
            var info = ReadInfo(metadata, source);
            var model = new Transformer(ToyTraining.Config);
            try
            {
                model.LoadWeights(tensors.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), source);
                model.FreezeParameters();
                return (model, info);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var (_, t) in tensors)
            {
                t.Dispose();
            }
        }
    }

    private static ToyModelInfo ReadInfo(Dictionary<string, string> metadata, string source)
    {
        if (!metadata.TryGetValue("format", out var format) || format != "autocircuit-toy-induction/1" || !metadata.TryGetValue("info", out var json))
        {
            throw new AutoCircuitException($"{source}: not a toy-induction model (metadata 'format' autocircuit-toy-induction/1 and 'info' expected).");
        }

        return JsonSerializer.Deserialize<ToyModelInfo>(json, Json)
            ?? throw new AutoCircuitException($"{source}: empty 'info' metadata.");
    }
}
