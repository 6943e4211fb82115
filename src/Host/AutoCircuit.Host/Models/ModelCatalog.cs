using AutoCircuit.Host.Data;
using AutoCircuit.Host.Models.Micro;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Models;

/// <summary>Resolves <c>--model</c>: a built-in name or a checkpoint path.</summary>
public static class ModelCatalog
{
    /// <summary>The model used when <c>--model</c> is not given.</summary>
    public const string DefaultModel = "micro";

    /// <summary>Built-in model names with one-line descriptions.</summary>
    public static IReadOnlyList<(string Name, string Description)> BuiltIns { get; } =
    [
        ("micro", "auto-circuit's two-layer toy (2 heads per layer, 2-d residual); default task: generated vector prompts"),
    ];

    /// <summary>Loads a model by name or path onto <paramref name="device"/>.</summary>
    /// <exception cref="AutoCircuitException">Unknown name, or a path that does not exist or cannot be read.</exception>
    public static LoadedModel Load(string? spec, Device device)
    {
        var name = string.IsNullOrWhiteSpace(spec) ? DefaultModel : spec.Trim();
        if (string.Equals(name, "micro", StringComparison.OrdinalIgnoreCase))
        {
            var micro = new MicroModel(2);
            micro.MoveTo(device);
            return new LoadedModel(micro, "micro", new NumericPromptEncoder(2), () => MicroTask.Dataset());
        }

        if (File.Exists(name) || Directory.Exists(name))
        {
            throw new AutoCircuitException($"--model {name}: loading checkpoints is not supported by this build yet.");
        }

        throw new AutoCircuitException(
            $"--model {name}: not a built-in model ({string.Join(", ", BuiltIns.Select(b => b.Name))}) and no such file or folder.");
    }
}
