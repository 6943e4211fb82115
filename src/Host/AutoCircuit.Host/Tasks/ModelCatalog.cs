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
/// Resolves <c>--model</c>: a built-in name, a Hugging Face folder (GPT-2 or Llama, by
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
    public const string CheckpointHelp =
        "a Hugging Face folder (config.json with model_type gpt2 or llama, model.safetensors or pytorch_model.bin) " +
        "or a llama2.c legacy .bin checkpoint (tokenizer.bin / tok<vocab>.bin beside it), " +
        "or a Hugging Face model name (gpt2, org/name[@revision]) from the Hugging Face cache, downloaded when missing " +
        "(see --download, HF_HUB_OFFLINE)";

    /// <summary>Loads a model by name or path onto <paramref name="device"/>.</summary>
    /// <param name="spec">Built-in name or path; <c>null</c> for <see cref="DefaultModel"/>.</param>
    /// <param name="device">Where the parameters go.</param>
    /// <param name="tokenizerPath">A tokenizer to use instead of the one found with the checkpoint:
    /// a llama2.c <c>.bin</c>, a SentencePiece <c>.model</c>, or a folder with <c>vocab.json</c> + <c>merges.txt</c>.</param>
    /// <param name="hub">Resolves Hugging Face model names (cache and downloads); <c>null</c> for one with this process's
    /// environment and no progress display.</param>
    /// <exception cref="AutoCircuitException">Unknown name, a path that does not exist, or a checkpoint that cannot be read.</exception>
    public static LoadedModel Load(string? spec, Device device, string? tokenizerPath = null, HubResolver? hub = null)
    {
        var name = string.IsNullOrWhiteSpace(spec) ? DefaultModel : spec.Trim();
        if (string.Equals(name, "micro", StringComparison.OrdinalIgnoreCase))
        {
            var micro = new MicroModel(2);
            micro.MoveTo(device);
            return new LoadedModel(micro, "micro", new NumericPromptEncoder(2), "micro");
        }

        if (string.Equals(name, ToyModel.Name, StringComparison.OrdinalIgnoreCase) || IsToyModelFile(name))
        {
            var (toy, info) = ToyModel.Load(string.Equals(name, ToyModel.Name, StringComparison.OrdinalIgnoreCase) ? null : name);
            toy.MoveTo(device);
            return new LoadedModel(toy, name, new NumericPromptEncoder(null), Tasks.TaskCatalog.DefaultTask) { ToyInfo = info };
        }

        Transformer model;
        ITokenizer? tokenizer;
        string? hubCommit = null;
        if (Directory.Exists(name))
        {
            (model, tokenizer) = LoadFolder(name);
        }
        else if (File.Exists(name))
        {
            (model, tokenizer) = LoadFile(name);
        }
        else if (HubModelName.TryParse(name, out var hubName))
        {
            var snapshot = (hub ?? HubResolver.FromEnvironment()).Resolve(hubName);
            hubCommit = HubCache.CommitOfSnapshot(snapshot);
            (model, tokenizer) = LoadFolder(snapshot);
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

    /// <summary>Reads a tokenizer file or folder (see <see cref="TokenizerFiles.Load"/>).</summary>
    /// <exception cref="AutoCircuitException">Unknown kind or unreadable.</exception>
    public static ITokenizer LoadTokenizer(string path, int? modelVocab = null) => TokenizerFiles.Load(path, modelVocab);

    private static (Transformer, ITokenizer?) LoadFolder(string folder)
    {
        var cfg = HfConfig.Load(Path.Combine(folder, "config.json"));
        var type = cfg.String("model_type");
        return type switch
        {
            "gpt2" => LoadGpt2Folder(folder),
            "llama" => LoadLlamaFolder(folder),
            _ => throw new AutoCircuitException(
                $"{cfg.Path}: model_type {(type is null ? "is missing" : $"'{type}' is not supported")} (supported: gpt2, llama)."),
        };
    }

    private static (Transformer, ITokenizer?) LoadGpt2Folder(string folder)
    {
        var (model, _) = Gpt2Checkpoint.Load(folder);
        ITokenizer? tokenizer = WithModel(model, () => TokenizerFiles.InModelFolder(folder)) ?? (File.Exists(Path.Combine(folder, "vocab.json")) && File.Exists(Path.Combine(folder, "merges.txt"))
            ? Gpt2Tokenizer.FromFolder(folder)
            : model.Config.VocabSize >= 50257 ? Gpt2Tokenizer.BuiltIn() : null);
        return (model, tokenizer);
    }

    private static (Transformer, ITokenizer?) LoadLlamaFolder(string folder)
    {
        var (model, _) = LlamaCheckpoint.LoadHuggingFace(folder);
        var sp = Path.Combine(folder, "tokenizer.model");
        return (model, WithModel(model, () => TokenizerFiles.InModelFolder(folder) ?? (File.Exists(sp) ? SentencePieceModelTokenizer.Load(sp) : null)));
    }

    /// <summary>Runs <paramref name="load"/>; disposes <paramref name="model"/> when it throws.</summary>
    private static T WithModel<T>(Transformer model, Func<T> load)
    {
        try
        {
            return load();
        }
        catch
        {
            model.Dispose();
            throw;
        }
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
