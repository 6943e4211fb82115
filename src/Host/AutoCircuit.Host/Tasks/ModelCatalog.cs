using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Hub;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Toy;
using AutoCircuit.Models.Transformers;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// Resolves <c>--model</c>: a built-in name, a Hugging Face folder (any family of <see cref="HfCheckpoint"/>, by
/// <c>config.json</c>'s <c>model_type</c>) or a llama2.c <c>.bin</c> checkpoint.
/// </summary>
public static class ModelCatalog
{
    /// <summary>The model used when <c>--model</c> is not given: the embedded toy induction model.</summary>
    public const string DefaultModel = ToyModel.Name;

    /// <summary>Built-in model names with one-line descriptions.</summary>
    public static IReadOnlyList<(string Name, string Description)> BuiltIns { get; } =
    [
        (ToyModel.Name, "the embedded default: a 2-layer attention-only transformer (4 heads, d_model 64, vocabulary 64) " +
                        "trained by train-toy on in-context copying; default task: induction"),
        ("micro", "auto-circuit's two-layer toy (2 heads per layer, 2-d residual); default task: micro (generated vector prompts)"),
    ];

    /// <summary>What <c>--model</c> accepts besides built-in names, for help texts.</summary>
    public static readonly string CheckpointHelp =
        $"a Hugging Face folder (config.json with model_type {string.Join(", ", HfCheckpoint.SupportedModelTypes)}; " +
        "model.safetensors, sharded safetensors or pytorch_model.bin) or a llama2.c legacy .bin checkpoint (tokenizer.bin / tok<vocab>.bin beside it), " +
        "or a Hugging Face model name (gpt2, org/name[@revision]) from the Hugging Face cache, downloaded when missing " +
        "(see --download, HF_HUB_OFFLINE)";

    /// <summary>Loads a model by name or path onto <paramref name="device"/>.</summary>
    /// <param name="spec">Built-in name or path; <c>null</c> for <see cref="DefaultModel"/>.</param>
    /// <param name="device">Where the parameters go.</param>
    /// <param name="tokenizerPath">A tokenizer to use instead of the one found with the checkpoint:
    /// a llama2.c <c>.bin</c>, a SentencePiece <c>.model</c>, or a folder with <c>vocab.json</c> + <c>merges.txt</c>.</param>
    /// <param name="hub">Resolves Hugging Face model names (cache and downloads); <c>null</c> for one with this process's
    /// environment and no progress display.</param>
    /// <param name="dtype">Compute dtype of a transformer's parameters (<c>--dtype</c>): float32, bfloat16 or float16;
    /// checkpoints are converted while they load. The micro model computes in float32 only.</param>
    /// <param name="weightDType">The dtype a Hugging Face checkpoint's weight matrices are kept in (<c>--weight-dtype</c>),
    /// converted as they are used; <c>null</c>: <paramref name="dtype"/>. Other models refuse another one.</param>
    /// <exception cref="AutoCircuitException">Unknown name, a path that does not exist, or a checkpoint that cannot be read.</exception>
    public static LoadedModel Load(
        string? spec, Device device, string? tokenizerPath = null, HubResolver? hub = null, ScalarType dtype = ScalarType.Float32,
        ScalarType? weightDType = null)
    {
        var name = string.IsNullOrWhiteSpace(spec) ? DefaultModel : spec.Trim();
        if (weightDType == dtype)
        {
            weightDType = null;
        }

        var isCheckpoint = Directory.Exists(name) || (!File.Exists(name) && !IsBuiltIn(name) && HubModelName.TryParse(name, out _));
        if (weightDType is { } stored && !isCheckpoint)
        {
            throw new AutoCircuitException(
                $"--weight-dtype {stored.ToString().ToLowerInvariant()}: only Hugging Face checkpoints (a folder or a hub name) keep their weights " +
                $"in another dtype than they compute in; {name} computes in --dtype {dtype.ToString().ToLowerInvariant()} throughout.");
        }

        if (string.Equals(name, "micro", StringComparison.OrdinalIgnoreCase))
        {
            if (dtype != ScalarType.Float32)
            {
                throw new AutoCircuitException($"--dtype {dtype.ToString().ToLowerInvariant()}: the micro model computes in float32 only.");
            }

            var micro = new MicroModel(2);
            micro.MoveTo(device);
            return new LoadedModel(micro, "micro", new NumericPromptEncoder(2), "micro");
        }

        if (string.Equals(name, ToyModel.Name, StringComparison.OrdinalIgnoreCase) || IsToyModelFile(name))
        {
            var (toy, info) = ToyModel.Load(string.Equals(name, ToyModel.Name, StringComparison.OrdinalIgnoreCase) ? null : name);
            if (dtype != ScalarType.Float32)
            {
                toy.ConvertTo(dtype);
            }

            toy.MoveTo(device);
            return new LoadedModel(toy, name, new NumericPromptEncoder(null), Tasks.TaskCatalog.DefaultTask) { ToyInfo = info };
        }

        Transformer model;
        ITokenizer? tokenizer;
        string? hubCommit = null;
        if (Directory.Exists(name))
        {
            (model, tokenizer) = LoadFolder(name, dtype, weightDType);
        }
        else if (File.Exists(name))
        {
            (model, tokenizer) = LoadFile(name);
            if (dtype != ScalarType.Float32)
            {
                model.ConvertTo(dtype);
            }
        }
        else if (HubModelName.TryParse(name, out var hubName))
        {
            var snapshot = (hub ?? HubResolver.FromEnvironment()).Resolve(hubName);
            hubCommit = HubCache.CommitOfSnapshot(snapshot);
            (model, tokenizer) = LoadFolder(snapshot, dtype, weightDType);
        }
        else
        {
            throw new AutoCircuitException(
                $"--model {name}: not a built-in model ({string.Join(", ", BuiltIns.Select(b => b.Name))}), no such file or folder, " +
                "and not a Hugging Face model name (org/name[@revision]).");
        }

        try
        {
            if (tokenizerPath is not null)
            {
                tokenizer = LoadTokenizer(tokenizerPath, model.Config.VocabSize);
            }

            if (tokenizer is not null && tokenizer.VocabSize > model.Config.VocabSize)
            {
                throw new AutoCircuitException(
                    $"{tokenizer.Name}: {tokenizer.VocabSize} tokens do not fit the vocabulary of {model.Config.Name} ({model.Config.VocabSize}).");
            }

            model.MoveTo(device);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return new LoadedModel(model, name, new NumericPromptEncoder(null), DefaultTask: null) { Tokenizer = tokenizer, HubCommit = hubCommit };
    }

    /// <summary>Parses <c>--dtype</c>: <c>float32</c> (default when <c>null</c>), <c>bfloat16</c>/<c>bf16</c>, <c>float16</c>/<c>fp16</c>/<c>half</c>.</summary>
    /// <exception cref="AutoCircuitException">Anything else.</exception>
    public static ScalarType ParseDType(string? text) => ParseDType(text, "--dtype") ?? ScalarType.Float32;

    /// <summary>Parses <c>--weight-dtype</c> (as <see cref="ParseDType(string?)"/>); <c>null</c> when not given.</summary>
    /// <exception cref="AutoCircuitException">Anything else.</exception>
    public static ScalarType? ParseWeightDType(string? text) => ParseDType(text, "--weight-dtype");

    private static ScalarType? ParseDType(string? text, string option) => text?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "half" => ScalarType.Float16,
        _ => throw new AutoCircuitException($"{option} {text}: expected float32, bfloat16 or float16."),
    };

    /// <summary>
    /// Writes a random checkpoint of <paramref name="config"/> (a known real config's name or a <c>config.json</c>) into
    /// <paramref name="folder"/>, stored in <paramref name="dtype"/>; returns the bytes of weights.
    /// </summary>
    /// <exception cref="AutoCircuitException">Unknown config, or a folder that is not empty.</exception>
    public static long WriteRandomCheckpoint(string config, string folder, ScalarType dtype, long seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        var cfg = KnownConfigs.Find(config)
            ?? (File.Exists(config) ? HfConfig.Load(config) : throw new AutoCircuitException(
                $"--config {config}: not a known config ({string.Join(", ", KnownConfigs.Names)}) and no such file."));
        return RandomCheckpoint.Write(cfg, folder, dtype, seed);
    }

    /// <summary>Reads a tokenizer file or folder (see <see cref="TokenizerFiles.Load"/>).</summary>
    /// <exception cref="AutoCircuitException">Unknown kind or unreadable.</exception>
    public static ITokenizer LoadTokenizer(string path, int? modelVocab = null) => TokenizerFiles.Load(path, modelVocab);

    private static (Transformer, ITokenizer?) LoadFolder(string folder, ScalarType dtype, ScalarType? weightDType)
    {
        var (model, _) = HfCheckpoint.Load(folder, dtype, weightDType);
        try
        {
            return (model, FolderTokenizer(folder, model));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The tokenizer files found beside a Hugging Face checkpoint (GPT-2 BPE or SentencePiece), if any.</summary>
    private static ITokenizer? FolderTokenizer(string folder, Transformer model)
    {
        if (TokenizerFiles.InModelFolder(folder) is { } fast)
        {
            return fast; // tokenizer.json
        }

        if (File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt")))
        {
            return Gpt2Tokenizer.FromFolder(folder);
        }

        var sp = Path.Combine(folder, "tokenizer.model");
        if (File.Exists(sp))
        {
            return SentencePieceModelTokenizer.Load(sp);
        }

        return model.Config.Family == TransformerFamily.Gpt2 && model.Config.VocabSize >= 50257 ? Gpt2Tokenizer.BuiltIn() : null;
    }

    private static (Transformer, ITokenizer?) LoadFile(string path)
    {
        var ext = Path.GetExtension(path).ToUpperInvariant();
        if (ext is ".SAFETENSORS" || IsZip(path))
        {
            throw new AutoCircuitException(
                $"--model {path}: a Hugging Face weights file; give the folder that holds it with its config.json.");
        }

        var (model, _) = LlamaCheckpoint.LoadLlama2c(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var candidates = new[] { "tokenizer.bin", $"tok{model.Config.VocabSize}.bin" }.Select(f => Path.Combine(folder, f));
        var found = candidates.FirstOrDefault(File.Exists);
        try
        {
            return (model, found is null ? null : Llama2cTokenizer.Load(found, model.Config.VocabSize));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A safetensors file written by <c>train-toy</c> (its metadata says so).</summary>
    private static bool IsBuiltIn(string name) => BuiltIns.Any(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase));

    private static bool IsToyModelFile(string path)
    {
        if (!File.Exists(path) || !string.Equals(Path.GetExtension(path), ".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            return Safetensors.ReadMetadata(path).TryGetValue("format", out var format) && format.StartsWith("autocircuit-toy-induction/", StringComparison.Ordinal);
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static bool IsZip(string path)
    {
        using var s = File.OpenRead(path);
        return s.ReadByte() == 'P' && s.ReadByte() == 'K';
    }
}
