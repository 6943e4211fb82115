namespace AutoCircuit.Models.Transformers;

/// <summary>
/// The architecture family: decides the normalisation, the MLP and the position encoding.
/// </summary>
public enum TransformerFamily
{
    /// <summary>GPT-2: LayerNorm (with bias), learned absolute positions, dense MLP with GELU, biases everywhere.</summary>
    Gpt2,

    /// <summary>Llama: RMSNorm, rotary position embeddings, grouped-query attention, SwiGLU MLP, no biases.</summary>
    Llama,
}

/// <summary>Activation of a dense (GPT-2 family) MLP.</summary>
public enum MlpActivation
{
    /// <summary>GPT-2's tanh approximation (Hugging Face <c>gelu_new</c>).</summary>
    GeluNew,

    /// <summary>Exact (erf) GELU (Hugging Face <c>gelu</c>).</summary>
    Gelu,

    /// <summary>ReLU.</summary>
    Relu,
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

    /// <summary>Activation of the GPT-2 family's MLP (Llama always uses SwiGLU).</summary>
    public MlpActivation Activation { get; init; } = MlpActivation.GeluNew;

    /// <summary>Rotary base (Llama family).</summary>
    public double RopeTheta { get; init; } = 10000;

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

    /// <summary>Q/K/V/O projections have biases (GPT-2: yes; Llama: <c>attention_bias</c>).</summary>
    public bool AttnBias { get; init; }

    /// <summary>MLP projections have biases (GPT-2: yes; Llama: <c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Short name for logs, e.g. <c>gpt2</c> or a folder name.</summary>
    public string Name { get; init; } = "transformer";

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => Heads / KvHeads;

    /// <summary>Whether heads share keys and values in groups.</summary>
    public bool IsGrouped => KvHeads != Heads;

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

        if (Family == TransformerFamily.Llama && DHead % 2 != 0)
        {
            throw new ArgumentException($"Transformer config: rotary embeddings need an even DHead; got {DHead}.");
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

    /// <summary>A one-line description, e.g. <c>gpt2 (GPT-2 family: 12 layers, 12 heads, d_model 768, vocab 50257)</c>.</summary>
    public string Describe()
    {
        var heads = IsGrouped ? $"{Heads} heads / {KvHeads} KV heads" : $"{Heads} heads";
        var variant = AttnOnly ? ", attention only" : ParallelAttnMlp ? ", parallel attention/MLP" : string.Empty;
        return $"{Name} ({Family} family: {Layers} layers, {heads}, d_model {DModel}, vocab {VocabSize}{variant})";
    }
}
