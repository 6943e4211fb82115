using AutoCircuit.Engine;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Patching;
using AutoCircuit.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names.

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// A decoder-only transformer (GPT-2, Llama and its descendants, GPT-NeoX) with TransformerLens' hook points, so
/// that auto-circuit's graphs (<see cref="TransformerGraph"/>) patch it exactly as they patch a
/// <c>HookedTransformer</c>. Input: token ids <c>[B, T]</c> (int64); output: logits <c>[B, T, vocab]</c>.
/// </summary>
/// <remarks>
/// <para>Parameters (TransformerLens names; Linear layout [out, in] unless stated):
/// <c>embed.W_E [V, d]</c>, <c>pos_embed.W_pos [n_ctx, d]</c> (GPT-2),
/// <c>blocks.{l}.ln1.w/b</c>, <c>blocks.{l}.attn.W_Q [H*dh, d]</c>, <c>W_K/W_V [G*dh, d]</c>,
/// <c>W_O [H, dh, d]</c>, <c>b_Q/b_K/b_V/b_O</c>, <c>blocks.{l}.attn.q_norm.w/k_norm.w</c> (q/k norm),
/// <c>blocks.{l}.ln1_post.w</c> (norm after attention), <c>blocks.{l}.ln2.w/b</c>,
/// <c>blocks.{l}.mlp.W_in [d_mlp, d]</c>, <c>W_gate</c> (gated MLP), <c>W_out [d, d_mlp]</c>, <c>b_in/b_out</c>,
/// <c>blocks.{l}.ln2_post.w</c>, <c>ln_final.w/b</c>, <c>unembed.W_U [V, d]</c> (absent when tied).</para>
/// <para>Left padding: tokens are masked as keys and positions counted from the first attended
/// token as TransformerLens does (see <see cref="TokenPadding"/>); no LayerNorm folding or weight
/// centering (TransformerLens' defaults), so logits are Hugging Face's.</para>
/// </remarks>
public sealed class Transformer : nn.Module<Tensor, Tensor>, IHookedModel, IBlockRestartModel, IBatchSizeBound
{
    private readonly TokenEmbedding embed;
    private readonly PositionEmbedding? pos_embed;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly Norm ln_final;
    private readonly Unembedding? unembed;
    private readonly Dictionary<string, HookPoint> _hooks = new(StringComparer.Ordinal);
    private readonly Dictionary<long, PrefixCache> _attachedCaches = [];
    private ScalarType _dtype;

    /// <summary>
    /// Creates a transformer with uninitialised weights (load them with <see cref="LoadWeights"/> or
    /// <see cref="InitializeRandom"/>) of element type <paramref name="dtype"/>, the compute dtype: the parameters are
    /// made in it (a bfloat16 model never exists in float32, even briefly). With <paramref name="weightDType"/> the weight
    /// matrices (embeddings, projections, MLP, unembedding) are kept in that dtype instead and converted as they are used
    /// (<see cref="StoredWeights"/>); norms and biases stay in the compute dtype.
    /// </summary>
    public Transformer(TransformerConfig config, ScalarType dtype = ScalarType.Float32, ScalarType? weightDType = null)
        : base("Transformer")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var stored = weightDType ?? dtype;
        if (!AutoCircuit.Engine.Patching.DTypes.IsFloat(dtype) || !AutoCircuit.Engine.Patching.DTypes.IsFloat(stored))
        {
            throw new ArgumentException($"A transformer computes in a floating-point type; got {dtype} (weights {stored}).", nameof(dtype));
        }

        Config = config;
        _dtype = dtype;
        embed = new TokenEmbedding(config.VocabSize, config.DModel, dtype, stored);
        pos_embed = config.UsesRotary ? null : new PositionEmbedding(config.ContextLength, config.DModel, dtype, stored);
        blocks = new ModuleList<TransformerBlock>();
        for (var l = 0; l < config.Layers; l++)
        {
            blocks.Add(new TransformerBlock(config, l, Hook, dtype, stored));
        }

        ln_final = Norm.For(config, dtype);
        unembed = config.TiedEmbeddings ? null : new Unembedding(config.VocabSize, config.DModel, stored);
        RegisterComponents();

        // The model owns its weights, whatever dispose scope it is created in.
        foreach (var p in parameters())
        {
            p.DetachFromDisposeScope();
        }
    }

    /// <summary>The architecture.</summary>
    public TransformerConfig Config { get; }

    /// <summary>How left padding is recognised in the input ids; <c>null</c>: every token is attended to.</summary>
    public TokenPadding? Padding { get; set; }

    /// <inheritdoc />
    public string Description => Config.Describe(DType, WeightDType);

    /// <inheritdoc />
    public bool IsTransformer => true;

    /// <inheritdoc />
    public int LayerCount => Config.Layers;

    /// <inheritdoc />
    public long OutputSize => Config.VocabSize;

    /// <inheritdoc />
    public long ResidualWidth => Config.DModel;

    /// <inheritdoc />
    public Device Device => embed.Weight.device;

    /// <inheritdoc />
    public ScalarType DType => _dtype;

    /// <summary>The dtype the weight matrices are kept in: <see cref="DType"/> unless the model was made with another.</summary>
    public ScalarType WeightDType => embed.Weight.dtype;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HookPoint> HookPoints => _hooks;

    /// <inheritdoc />
    /// <remarks>While a prefix cache is attached: the forward pass takes only the cached batch sizes.</remarks>
    public bool BatchSizeBound => _attachedCaches.Count > 0;

    /// <inheritdoc />
    public GraphNodes FactorizedNodes(bool separateQkv) => TransformerGraph.Factorized(Config, separateQkv);

    /// <inheritdoc />
    public GraphNodes ResidualNodes() => TransformerGraph.Residual(Config);

    /// <summary>
    /// Logits <c>[B, T, V]</c>. Uses the prefix cache attached for this batch size, if any
    /// (auto-circuit looks its caches up by batch size the same way).
    /// </summary>
    public override Tensor forward(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var cache = _attachedCaches.GetValueOrDefault(tokens.size(0));
        if (cache is null && _attachedCaches.Count > 0)
        {
            // The inputs are tails of a cached prefix: running them without it would be silently wrong.
            throw new InvalidOperationException(
                $"A prefix cache is attached for batch size(s) {string.Join(", ", _attachedCaches.Keys)} but the input has {tokens.size(0)} rows.");
        }

        return Forward(tokens, cache);
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor input) => forward(input);

    /// <summary>Logits <c>[B, T, V]</c> of <paramref name="tokens"/> following a cached prefix (or none).</summary>
    public Tensor Forward(Tensor tokens, PrefixCache? prefix)
    {
        CheckTokens(tokens, prefix);
        using var ctx = ForwardContext.Create(tokens, prefix, Padding, Config, DType);
        var x = Embed(tokens, ctx); // [B, T, d]
        for (var l = 0; l < Config.Layers; l++)
        {
            // A block hands back only its output (hook results included), so one residual is alive at a time.
            var next = blocks[l].forward(x, ctx);
            x.Dispose();
            x = next;
        }

        using (x)
        {
            return Unembed(x);
        }
    }

    /// <summary>
    /// Runs <paramref name="prefixTokens"/> <c>[B, P]</c> once (no hooks, no gradient) and keeps
    /// every layer's keys and values, for forward passes over tails that share this prefix.
    /// </summary>
    public PrefixCache BuildPrefixCache(Tensor prefixTokens)
    {
        CheckTokens(prefixTokens, null);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var collected = new List<(Tensor, Tensor)>(Config.Layers);
        using var ctx = ForwardContext.Create(prefixTokens, null, Padding, Config, DType, hooksEnabled: false, collect: collected);
        var x = Embed(prefixTokens, ctx);
        for (var l = 0; l < Config.Layers; l++)
        {
            x = blocks[l].forward(x, ctx); // the scope frees each block's input; ctx.Collect keeps K/V outside it
        }

        return new PrefixCache(prefixTokens.clone().DetachFromDisposeScope(), collected);
    }

    /// <summary>
    /// Makes <see cref="Forward(Tensor)"/> use <paramref name="cache"/> for inputs of its batch size
    /// until the returned scope is disposed (auto-circuit's <c>PatchableModel.kv_caches</c>).
    /// </summary>
    public IDisposable AttachPrefixCache(PrefixCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (!_attachedCaches.TryAdd(cache.BatchSize, cache))
        {
            throw new InvalidOperationException($"A prefix cache for batch size {cache.BatchSize} is already attached.");
        }

        return new Detacher(() => _attachedCaches.Remove(cache.BatchSize));
    }

    /// <inheritdoc />
    public int BlockOf(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        if (!HookNames.TryGetBlock(moduleName, out var block) || block >= Config.Layers)
        {
            throw new ArgumentException($"'{moduleName}' is not a hook point inside a block (blocks.<i>.…).", nameof(moduleName));
        }

        return block;
    }

    /// <inheritdoc />
    public BlockInputs CaptureBlockInputs(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var prefix = _attachedCaches.GetValueOrDefault(input.size(0));
        CheckTokens(input, prefix);
        using var scope = torch.NewDisposeScope();
        var ctx = ForwardContext.Create(input, prefix, Padding, Config, DType).Detach();
        var residuals = new List<Tensor>(Config.Layers);
        var x = Embed(input, ctx);
        for (var l = 0; l < Config.Layers; l++)
        {
            residuals.Add(x.DetachFromDisposeScope());
            x = blocks[l].forward(x, ctx);
        }

        return new BlockInputs(residuals, ctx);
    }

    /// <inheritdoc />
    public Tensor ForwardFromBlock(BlockInputs inputs, int block)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.State is not ForwardContext ctx || inputs.Residuals.Count != Config.Layers)
        {
            throw new ArgumentException("These block inputs were not captured by this transformer.", nameof(inputs));
        }

        if (block < 0 || block >= Config.Layers)
        {
            throw new ArgumentOutOfRangeException(nameof(block), block, $"Blocks are 0..{Config.Layers - 1}.");
        }

        var x = inputs.Residuals[block];
        for (var l = block; l < Config.Layers; l++)
        {
            var next = blocks[l].forward(x, ctx);
            if (l != block)
            {
                x.Dispose();
            }

            x = next;
        }

        using (x)
        {
            return Unembed(x);
        }
    }

    /// <summary>
    /// Copies weights into the model. Every parameter must be present with its exact shape; the
    /// tensors are converted to the model's dtype and device. The tensors stay the caller's.
    /// </summary>
    /// <param name="weights">Tensors by parameter name (see the remarks on <see cref="Transformer"/>).</param>
    /// <param name="source">What the weights came from, for error messages.</param>
    /// <exception cref="AutoCircuitException">A parameter is missing, has the wrong shape, or a name is unknown.</exception>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var unknown = weights.Keys.Where(k => !parameters.ContainsKey(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new AutoCircuitException($"{source}: weights '{string.Join("', '", unknown)}' are not parameters of {Description}.");
        }

        LoadStreamed(weights.Select(kv => (kv.Key, (Action<Tensor>)(p => CopyChecked(p, kv.Value, kv.Key, source)))), source);
    }

    /// <summary>
    /// Fills every parameter from a stream of (name, fill) pairs, each fill writing its parameter (a checkpoint reader
    /// copies a tensor straight from the file into it), so that loading holds the model and at most one checkpoint
    /// tensor at once.
    /// </summary>
    /// <exception cref="AutoCircuitException">A parameter is missing or given twice, or a name is unknown; a fill's own refusal.</exception>
    internal void LoadStreamed(IEnumerable<(string Name, Action<Tensor> Fill)> weights, string source)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        using var _ = torch.no_grad();
        foreach (var (name, fill) in weights)
        {
            if (!parameters.TryGetValue(name, out var p))
            {
                throw new AutoCircuitException($"{source}: weight '{name}' is not a parameter of {Description}.");
            }

            if (!loaded.Add(name))
            {
                throw new AutoCircuitException($"{source}: weight '{name}' is given twice.");
            }

            fill(p);
        }

        if (parameters.Keys.FirstOrDefault(n => !loaded.Contains(n)) is { } missing)
        {
            throw new AutoCircuitException($"{source}: missing weight '{missing}' (expected shape [{string.Join(", ", parameters[missing].shape)}]).");
        }
    }

    /// <summary>Copies <paramref name="w"/> into <paramref name="p"/> after checking the shape.</summary>
    internal static void CopyChecked(Tensor p, Tensor w, string name, string source)
    {
        if (!TensorSizes.SameSizes(w, p))
        {
            throw new AutoCircuitException(
                $"{source}: weight '{name}' has shape [{string.Join(", ", w.shape)}], expected [{string.Join(", ", p.shape)}].");
        }

        p.copy_(w);
    }

    /// <summary>Random weights for tests: normal(0, 0.02) matrices, norms near 1, small biases.</summary>
    public void InitializeRandom(long seed)
    {
        using var _ = torch.no_grad();
        using var gen = new Generator((ulong)seed);
        foreach (var (name, p) in named_parameters())
        {
            var leaf = name[(name.LastIndexOf('.') + 1)..];
            if (leaf == "w")
            {
                p.normal_(1.0, 0.1, gen);
            }
            else if (leaf.StartsWith("b", StringComparison.Ordinal))
            {
                p.normal_(0.0, 0.05, gen);
            }
            else
            {
                p.normal_(0.0, 0.2, gen);
            }
        }
    }

    /// <summary>Checks token ids against the vocabulary and the context length (one read per call).</summary>
    /// <exception cref="AutoCircuitException">An id is outside [0, vocab) or the sequence is too long.</exception>
    public void ValidateTokens(Tensor tokens, PrefixCache? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        CheckTokens(tokens, prefix);
        var length = tokens.size(1) + (prefix?.Length ?? 0);
        if (length > Config.ContextLength)
        {
            throw new AutoCircuitException($"{length} tokens exceed the context length {Config.ContextLength} of {Config.Name}.");
        }

        if (tokens.numel() > 0)
        {
            using var min = tokens.min();
            using var max = tokens.max();
            var (lo, hi) = (min.ToInt64(), max.ToInt64());
            if (lo < 0 || hi >= Config.VocabSize)
            {
                throw new AutoCircuitException(
                    $"Token id {(lo < 0 ? lo : hi)} is outside the vocabulary of {Config.Name} (0..{Config.VocabSize - 1}).");
            }
        }
    }

    /// <inheritdoc />
    public void FreezeParameters()
    {
        foreach (var p in parameters())
        {
            p.requires_grad = false;
        }
    }

    /// <inheritdoc />
    public void MoveTo(Device device) => this.to(device);

    /// <summary>Converts the parameters to <paramref name="dtype"/>, the compute dtype (see <see cref="DType"/>).</summary>
    public void ConvertTo(ScalarType dtype)
    {
        if (!AutoCircuit.Engine.Patching.DTypes.IsFloat(dtype))
        {
            throw new ArgumentException($"A transformer computes in a floating-point type; got {dtype}.", nameof(dtype));
        }

        this.to(dtype);
        _dtype = dtype;
    }

    private void CheckTokens(Tensor tokens, PrefixCache? prefix)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 2 || tokens.dtype != ScalarType.Int64)
        {
            throw new ArgumentException(
                $"A transformer takes int64 token ids [batch, seq]; got {tokens.dtype} [{string.Join(", ", tokens.shape)}].");
        }

        if (prefix is not null && prefix.BatchSize != tokens.size(0))
        {
            throw new ArgumentException($"The prefix cache holds {prefix.BatchSize} rows but the input has {tokens.size(0)}.");
        }
    }

    private Tensor Embed(Tensor tokens, ForwardContext ctx)
    {
        var x = embed.forward(tokens); // [B, T, d]
        if (Config.EmbedScale is double scale)
        {
            // Gemma: the normalizer is a tensor of the compute dtype (bfloat16 rounds sqrt(48) = 6.93 to 6.9375).
            using var normalizer = torch.tensor(scale, dtype: x.dtype, device: x.device);
            var scaled = x * normalizer;
            x.Dispose();
            x = scaled;
        }

        if (pos_embed is null)
        {
            return x;
        }

        using (x)
        {
            using var pos = pos_embed.forward(ctx.Positions); // [B, T, d]
            return x + pos;
        }
    }

    private Tensor Unembed(Tensor resid)
    {
        using var normed = ln_final.forward(resid); // [B, T, d]
        var logits = unembed is null ? embed.Unembed(normed) : unembed.forward(normed); // [B, T, V]
        if (Config.FinalSoftcap is not double cap)
        {
            return logits;
        }

        using (logits)
        {
            using var scaled = logits / cap;
            using var squashed = scaled.tanh();
            return squashed * cap; // Gemma 2: cap * tanh(logits / cap)
        }
    }

    private HookPoint Hook(string name)
    {
        var hp = new HookPoint(name);
        _hooks.Add(name, hp);
        return hp;
    }

    private sealed class Detacher(Action onDispose) : IDisposable
    {
        private Action? _onDispose = onDispose;

        public void Dispose()
        {
            _onDispose?.Invoke();
            _onDispose = null;
        }
    }
}
