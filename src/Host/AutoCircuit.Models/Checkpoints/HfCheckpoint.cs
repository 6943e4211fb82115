using AutoCircuit.Engine;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Loads a Hugging Face model folder (<c>config.json</c> + <c>model.safetensors</c>, sharded safetensors with
/// <c>model.safetensors.index.json</c>, or <c>pytorch_model.bin</c>) of any family we implement, chosen by
/// <c>model_type</c>: GPT-2, Llama (2, 3, 3.1 with rope scaling, 3.2), Mistral, Qwen2/2.5, Qwen3, Gemma 2, Gemma 3
/// (text), GPT-NeoX (Pythia), OLMo-2.
/// </summary>
/// <remarks>
/// Memory: the model is built in its compute dtype and each checkpoint tensor is read (memory-mapped), converted into
/// its parameter and released before the next, so loading needs the model plus one tensor; a safetensors tensor stored
/// in the compute dtype is not copied at all, its parameter holds the file's pages (page cache, copy on write), so a
/// bfloat16 checkpoint run in bfloat16 needs little more than the activations of the process's own memory. Everything that can be
/// checked without reading tensors (the config, every tensor's presence, dtype and shape, unexpected tensors) is
/// checked before the first read.
/// </remarks>
public static class HfCheckpoint
{
    private static readonly HfFamily[] Families =
        [new HfGpt2Family(), new HfLlamaFamily(), new HfGemmaFamily(), new HfGptNeoXFamily(), new HfOlmo2Family()];

    /// <summary>The <c>model_type</c>s we load.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = Families.SelectMany(f => f.ModelTypes).ToList();

    /// <summary>The config and special tokens of a <c>config.json</c>, by its <c>model_type</c>.</summary>
    /// <exception cref="AutoCircuitException">Unknown <c>model_type</c>, or a field missing or unsupported (named).</exception>
    internal static (TransformerConfig Config, SpecialTokens Tokens) ReadConfig(HfConfig cfg, string name)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        return (FamilyOf(cfg).ReadConfig(cfg, name), HfConfigs.Tokens(cfg));
    }

    /// <summary>
    /// Loads <paramref name="folder"/> onto the CPU, computing in <paramref name="dtype"/>; the weight matrices are kept in
    /// <paramref name="weightDType"/> when given (e.g. a bfloat16 checkpoint mapped from its file and computed in float32).
    /// </summary>
    /// <exception cref="AutoCircuitException">Config or weights missing, malformed or unsupported; the message names the file and field or tensor.</exception>
    public static (Transformer Model, SpecialTokens Tokens) Load(string folder, ScalarType dtype = ScalarType.Float32, ScalarType? weightDType = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var cfg = HfConfig.Load(Path.Combine(folder, "config.json"));
        var family = FamilyOf(cfg);
        var config = family.ReadConfig(cfg, Paths.LastName(folder));
        var tokens = HfConfigs.Tokens(cfg);

        // Sizes against the files and the memory before anything is read or allocated (a config of 10^9 layers).
        var files = CheckpointTensors.WeightFiles(folder).Files;
        ModelBudget.EnsureFits(config, cfg.Path, ModelBudget.SizeOf(files), string.Join(", ", files.Select(Path.GetFileName)), weightDType ?? dtype);
        var sources = family.Weights(config).ToList();
        using var ckpt = CheckpointTensors.FromHuggingFaceFolder(folder);
        ckpt.AddPrefixIfAbsent(family.BasePrefix, family.RootNames);
        ckpt.Ignore(n => family.IsIgnored(n, config));
        foreach (var s in sources.DistinctBy(s => s.Tensor))
        {
            ckpt.Check(s.Tensor, s.Shape);
        }

        ckpt.EnsureAllUsed(config.Architecture ?? family.ModelTypes[0]);
        var model = new Transformer(config, dtype, weightDType) { Padding = tokens.Padding };
        try
        {
            model.LoadStreamed(Fills(ckpt, sources), ckpt.Source);
        }
        catch
        {
            model.Dispose();
            throw;
        }

        return (model, tokens);
    }

    /// <summary>The family that reads <paramref name="cfg"/>'s <c>model_type</c>.</summary>
    /// <exception cref="AutoCircuitException">Missing or unknown <c>model_type</c> (the message lists the supported ones).</exception>
    internal static HfFamily FamilyOf(HfConfig cfg)
    {
        var type = cfg.String("model_type");
        var supported = string.Join(", ", SupportedModelTypes);
        if (type is null)
        {
            throw new AutoCircuitException($"{cfg.Path}: model_type is missing (supported: {supported}).");
        }

        if (type == "gemma3")
        {
            throw new AutoCircuitException(
                $"{cfg.Path}: model_type 'gemma3' is the multimodal Gemma 3 (its text model nested under text_config, tensors under " +
                $"language_model.); not supported: use a text-only checkpoint (model_type gemma3_text, e.g. gemma-3-1b). Supported: {supported}.");
        }

        return Families.FirstOrDefault(f => f.ModelTypes.Contains(type))
            ?? throw new AutoCircuitException($"{cfg.Path}: model_type '{type}' is not supported (supported: {supported}).");
    }

    /// <summary>
    /// How each parameter is filled: when it is stored as we keep it, in the parameter's dtype, it takes the file's
    /// pages (memory-mapped, copy on write, no copy made); in another dtype, straight from the file (memory-mapped, in
    /// chunks, converted on the way); else by reading the tensor and copying its transformed view.
    /// </summary>
    private static IEnumerable<(string, Action<Tensor>)> Fills(CheckpointTensors ckpt, IEnumerable<WeightSource> sources) =>
        sources.Select(s => (s.Param, (Action<Tensor>)(p => Fill(ckpt, s, p))));

    private static void Fill(CheckpointTensors ckpt, WeightSource s, Tensor p)
    {
        if (s.Transform is null)
        {
            if (!ckpt.TryShare(s.Tensor, p))
            {
                ckpt.ReadInto(s.Tensor, p);
            }

            return;
        }

        using var scope = torch.NewDisposeScope();
        var stored = ckpt.Take(s.Tensor, s.Shape);
        Transformer.CopyChecked(p, s.Transform(stored), s.Param, ckpt.Source);
    }
}
