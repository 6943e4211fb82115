namespace AutoCircuit.Models.Transformers;

/// <summary>
/// The block style: decides the normalisation, the MLP and the position encoding. The other switches of
/// <see cref="TransformerConfig"/> add what later families changed (Qwen, Mistral, Gemma and OLMo-2 are the Llama
/// style with some of them on).
/// </summary>
public enum TransformerFamily
{
    /// <summary>GPT-2: LayerNorm (with bias), learned absolute positions, dense MLP with GELU, biases everywhere.</summary>
    Gpt2,

    /// <summary>Llama: RMSNorm, rotary position embeddings, grouped-query attention, gated MLP (SwiGLU), no biases.</summary>
    Llama,

    /// <summary>GPT-NeoX (Pythia): LayerNorm (with bias), rotary position embeddings, dense MLP, biases.</summary>
    GptNeoX,
}

/// <summary>Activation of the MLP (of its gate, in a gated MLP).</summary>
public enum MlpActivation
{
    /// <summary>The tanh approximation of GELU (Hugging Face <c>gelu_new</c>, <c>gelu_pytorch_tanh</c>).</summary>
    GeluNew,

    /// <summary>Exact (erf) GELU (Hugging Face <c>gelu</c>).</summary>
    Gelu,

    /// <summary>ReLU.</summary>
    Relu,

    /// <summary>SiLU (swish), the gate of Llama's SwiGLU.</summary>
    Silu,
}

/// <summary>Where a block normalises around its attention and its MLP.</summary>
public enum NormPlacement
{
    /// <summary>Before each (<c>ln1</c>, <c>ln2</c>): GPT-2, Llama, Qwen, Mistral, GPT-NeoX.</summary>
    Pre,

    /// <summary>Before and after each (<c>ln1</c>, <c>ln1_post</c>, <c>ln2</c>, <c>ln2_post</c>): Gemma 2 and 3.</summary>
    Sandwich,

    /// <summary>Only after each (<c>ln1_post</c>, <c>ln2_post</c>), on the output added to the residual: OLMo-2.</summary>
    Post,
}

/// <summary>RMSNorm of queries and keys after their projection, before the rotary embedding.</summary>
public enum QkNorm
{
    /// <summary>None.</summary>
    None,

    /// <summary>Each head's vector, one weight <c>[d_head]</c> shared by the heads (Qwen3, Gemma 3).</summary>
    PerHead,

    /// <summary>The whole projection at once, weights <c>[H * d_head]</c> and <c>[G * d_head]</c> (OLMo-2).</summary>
    Whole,
}

/// <summary>
/// Hyperparameters of a <see cref="Transformer"/> (nanoGPT's <c>GPTConfig</c>). Everything the
/// forward pass and the graph need; no weights.
/// </summary>
public sealed record TransformerConfig
{
    // Counts are plural nouns (Layers, Heads, KvHeads) and widths D-names (DModel, DHead, DMlp), as TransformerLens'
    // n_layers / n_heads / n_key_value_heads and d_model / d_head / d_mlp. Unset optional values follow the others.
    private int? _kvHeads;
    private int? _dHead;
    private MlpActivation? _activation;
    private bool? _attnOutBias;
    private int? _rotaryDim;

    /// <summary>Architecture family.</summary>
    public required TransformerFamily Family { get; init; }

    /// <summary>Residual stream width (d_model).</summary>
    public required int DModel { get; init; }

    /// <summary>Number of blocks.</summary>
    public required int Layers { get; init; }

    /// <summary>Query heads per block.</summary>
    public required int Heads { get; init; }

    /// <summary>
    /// Key/value heads per block; default <see cref="Heads"/> (grouped-query attention when fewer).
    /// </summary>
    public int KvHeads
    {
        get => _kvHeads ?? Heads;
        init => _kvHeads = value;
    }

    /// <summary>Width of one head (d_head); default <c>DModel / Heads</c>.</summary>
    public int DHead
    {
        get => _dHead ?? (DModel / Heads);
        init => _dHead = value;
    }

    /// <summary>Hidden width of the MLP.</summary>
    public required int DMlp { get; init; }

    /// <summary>Vocabulary size (rows of the embedding and of the unembedding).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Longest sequence the model supports (learned positions: rows of the position table).</summary>
    public required int ContextLength { get; init; }

    /// <summary>Epsilon of LayerNorm / RMSNorm.</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>Activation of the MLP, of the gate in a gated MLP; default SiLU for the Llama style, else GELU (tanh).</summary>
    public MlpActivation Activation
    {
        get => _activation ?? (Family == TransformerFamily.Llama ? MlpActivation.Silu : MlpActivation.GeluNew);
        init => _activation = value;
    }

    /// <summary>Rotary base (rotary families; Hugging Face <c>rope_theta</c>).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Frequency scaling of the rotary embedding (of the global layers when <see cref="RopeLocalTheta"/> is set).</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Rotary base of the sliding-window layers, which then use no scaling (Gemma 3's <c>rope_local_base_freq</c>).</summary>
    public double? RopeLocalTheta { get; init; }

    /// <summary>Leading dimensions of each head that rotate (GPT-NeoX's <c>rotary_pct</c>); default <see cref="DHead"/>.</summary>
    public int RotaryDim
    {
        get => _rotaryDim ?? DHead;
        init => _rotaryDim = value;
    }

    /// <summary>
    /// Rotary pairing (Llama family). <c>true</c>: dimensions (2i, 2i+1) of a head rotate together
    /// (llama2.c, Meta's original). <c>false</c>: dimensions (i, i + d_head/2) (Hugging Face's
    /// "rotate half", whose checkpoints store q/k weights permuted to match).
    /// </summary>
    public bool RopeInterleaved { get; init; }

    /// <summary>Unembedding is the transposed token embedding.</summary>
    public bool TiedEmbeddings { get; init; } = true;

    /// <summary>Blocks have no MLP.</summary>
    public bool AttnOnly { get; init; }

    /// <summary>Attention and MLP both read the block input (GPT-J/NeoX style) instead of one after the other.</summary>
    public bool ParallelAttnMlp { get; init; }

    /// <summary>Q/K/V projections have biases (GPT-2: yes; Llama: <c>attention_bias</c>; Qwen2: yes).</summary>
    public bool AttnBias { get; init; }

    /// <summary>The output projection has a bias; default <see cref="AttnBias"/> (Qwen2: Q/K/V biases, none on O).</summary>
    public bool AttnOutBias
    {
        get => _attnOutBias ?? AttnBias;
        init => _attnOutBias = value;
    }

    /// <summary>Scale of the attention scores; default <c>DHead^-0.5</c> (Gemma: <c>query_pre_attn_scalar^-0.5</c>).</summary>
    public double? AttnScale { get; init; }

    /// <summary>Soft cap of the attention scores, <c>cap * tanh(s / cap)</c> before the mask (Gemma 2).</summary>
    public double? AttnSoftcap { get; init; }

    /// <summary>Soft cap of the logits (Gemma 2).</summary>
    public double? FinalSoftcap { get; init; }

    /// <summary>Keys a sliding-window layer attends to, the query's own included (Mistral, Gemma); <c>null</c>: none.</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Which layers use <see cref="SlidingWindow"/>, one flag per layer; <c>null</c>: every layer (Mistral).</summary>
    public IReadOnlyList<bool>? SlidingLayers { get; init; }

    /// <summary>Where the norms sit around attention and MLP.</summary>
    public NormPlacement NormPlacement { get; init; } = NormPlacement.Pre;

    /// <summary>Added to every RMSNorm weight at use: Gemma stores <c>w</c> and scales by <c>1 + w</c>.</summary>
    public double NormWeightOffset { get; init; }

    /// <summary>RMSNorm of queries and keys.</summary>
    public QkNorm QkNorm { get; init; } = QkNorm.None;

    /// <summary>Multiplies the token embeddings, rounded to the compute dtype (Gemma: <c>sqrt(d_model)</c>).</summary>
    public double? EmbedScale { get; init; }

    /// <summary>The Hugging Face <c>model_type</c> the config came from (for descriptions), e.g. <c>gemma2</c>.</summary>
    public string? Architecture { get; init; }

    /// <summary>MLP projections have biases (GPT-2: yes; Llama: <c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Short name for logs, e.g. <c>gpt2</c> or a folder name.</summary>
    public string Name { get; init; } = "transformer";

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => Heads / KvHeads;

    /// <summary>Whether heads share keys and values in groups.</summary>
    public bool IsGrouped => KvHeads != Heads;

    /// <summary>LayerNorm with bias (GPT-2, GPT-NeoX) rather than RMSNorm.</summary>
    public bool UsesLayerNorm => Family != TransformerFamily.Llama;

    /// <summary>Rotary position embeddings rather than learned positions.</summary>
    public bool UsesRotary => Family != TransformerFamily.Gpt2;

    /// <summary>Gated MLP <c>W_out(act(W_gate x) * W_in x)</c> rather than dense <c>W_out(act(W_in x))</c>.</summary>
    public bool GatedMlp => Family == TransformerFamily.Llama;

    /// <summary>Whether layer <paramref name="layer"/> attends within <see cref="SlidingWindow"/> only.</summary>
    public bool IsSliding(int layer) => SlidingWindow is not null && (SlidingLayers is null || SlidingLayers[layer]);

    /// <summary>Throws <see cref="ArgumentException"/> naming the values that do not fit together.</summary>
    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0)
            {
                throw new ArgumentException($"Transformer config: {name} must be positive; got {value}.");
            }
        }

        Positive(DModel, nameof(DModel));
        Positive(Layers, nameof(Layers));
        Positive(Heads, nameof(Heads));
        Positive(KvHeads, nameof(KvHeads));
        Positive(DHead, nameof(DHead));
        Positive(VocabSize, nameof(VocabSize));
        Positive(ContextLength, nameof(ContextLength));
        if (!AttnOnly)
        {
            Positive(DMlp, nameof(DMlp));
        }

        if (_dHead is null && DModel % Heads != 0)
        {
            throw new ArgumentException($"Transformer config: DModel {DModel} is not divisible by Heads {Heads}.");
        }

        if (Heads % KvHeads != 0)
        {
            throw new ArgumentException($"Transformer config: Heads {Heads} is not a multiple of KvHeads {KvHeads}.");
        }

        if (Family == TransformerFamily.Gpt2 && IsGrouped)
        {
            throw new ArgumentException($"Transformer config: the GPT-2 family has no grouped-query attention (KvHeads {KvHeads} != Heads {Heads}).");
        }

        if (UsesRotary && (RotaryDim <= 0 || RotaryDim > DHead || RotaryDim % 2 != 0))
        {
            throw new ArgumentException($"Transformer config: rotary embeddings need an even RotaryDim in 2..DHead {DHead}; got {RotaryDim}.");
        }

        if (!UsesRotary && (RopeScaling is not null || RopeLocalTheta is not null))
        {
            throw new ArgumentException("Transformer config: RopeScaling and RopeLocalTheta need rotary embeddings.");
        }

        if (RopeScaling is { } rs && (!(rs.Factor > 0) || (rs.Type == RopeScalingType.Llama3 &&
            (rs.OriginalContext is null || rs.LowFreqFactor is null || rs.HighFreqFactor is null || rs.HighFreqFactor <= rs.LowFreqFactor))))
        {
            throw new ArgumentException($"Transformer config: RopeScaling {rs} needs a positive factor (llama3: an original context and HighFreqFactor > LowFreqFactor).");
        }

        if (SlidingWindow is <= 0 || (SlidingLayers is { } sl && (sl.Count != Layers || SlidingWindow is null)))
        {
            throw new ArgumentException(
                $"Transformer config: SlidingWindow must be positive and SlidingLayers have one flag per layer ({Layers}); got {SlidingWindow}, {SlidingLayers?.Count}.");
        }

        if (NormPlacement != NormPlacement.Pre && (UsesLayerNorm || AttnOutBias))
        {
            // A post-attention norm is split over the heads as a per-position scale (see Attention): RMSNorm only, no bias.
            throw new ArgumentException($"Transformer config: {NormPlacement} norms need RMSNorm and no output bias.");
        }

        foreach (var (value, name) in new[] { (AttnScale, nameof(AttnScale)), (AttnSoftcap, nameof(AttnSoftcap)), (FinalSoftcap, nameof(FinalSoftcap)), (EmbedScale, nameof(EmbedScale)) })
        {
            if (value is { } v && !(v > 0 && double.IsFinite(v)))
            {
                throw new ArgumentException($"Transformer config: {name} must be positive; got {v}.");
            }
        }

        if (AttnOnly && ParallelAttnMlp)
        {
            throw new ArgumentException("Transformer config: AttnOnly and ParallelAttnMlp exclude each other.");
        }

        if (NormEps <= 0 || double.IsNaN(NormEps))
        {
            throw new ArgumentException($"Transformer config: NormEps must be positive; got {NormEps}.");
        }
    }

    /// <summary>
    /// A one-line description, e.g. <c>gpt2 (Gpt2 family: 12 layers, 12 heads, d_model 768, vocab 50257)</c>; the
    /// compute dtype is added when given and not float32.
    /// </summary>
    public string Describe(TorchSharp.torch.ScalarType? dtype = null, TorchSharp.torch.ScalarType? weightDType = null)
    {
        var heads = IsGrouped ? $"{Heads} heads / {KvHeads} KV heads" : $"{Heads} heads";
        var variant = AttnOnly ? ", attention only" : ParallelAttnMlp ? ", parallel attention/MLP" : string.Empty;
        var window = SlidingWindow is { } w ? $", sliding window {w}" : string.Empty;
        var type = dtype is { } t && t != TorchSharp.torch.ScalarType.Float32 ? $", {t.ToString().ToLowerInvariant()}" : string.Empty;
        var kind = Architecture ?? $"{Family} family";
        var stored = weightDType is { } s && s != (dtype ?? TorchSharp.torch.ScalarType.Float32)
            ? $", {(dtype ?? TorchSharp.torch.ScalarType.Float32).ToString().ToLowerInvariant()} compute, weights {s.ToString().ToLowerInvariant()}"
            : type;
        return $"{Name} ({kind}: {Layers} layers, {heads}, d_model {DModel}, vocab {VocabSize}{variant}{window}{stored})";
    }
}
