using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (W_E, W_pos, W_U).

namespace AutoCircuit.Models.Transformers;

// The three tables at the ends of the residual stream. They are separate modules because the parameter names are
// TransformerLens' (embed.W_E, pos_embed.W_pos, unembed.W_U): checkpoints and the embedded toy model are stored under them.

/// <summary>Token embedding <c>W_E [V, d]</c>: token ids <c>[B, T]</c> to the residual stream <c>[B, T, d]</c>.</summary>
internal sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_E; // [V, d]
    private readonly ScalarType _dtype;

    /// <param name="vocab">Rows.</param>
    /// <param name="d">Width.</param>
    /// <param name="dtype">The compute dtype (of the rows looked up).</param>
    /// <param name="weightDType">The table's own dtype (see <see cref="StoredWeights"/>).</param>
    public TokenEmbedding(long vocab, long d, ScalarType dtype, ScalarType weightDType)
        : base("TokenEmbedding")
    {
        Embeddings.CheckTable(vocab, d, nameof(vocab));
        _dtype = dtype;
        W_E = new Parameter(torch.empty(vocab, d, dtype: weightDType));
        RegisterComponents();
    }

    public Parameter Weight => W_E;

    public override Tensor forward(Tensor tokens) => Embeddings.Lookup(W_E, tokens, _dtype); // [B, T, d]

    /// <summary>Logits <c>[B, T, V]</c> with the transposed embedding (tied weights, GPT-2 and many small Llamas).</summary>
    public Tensor Unembed(Tensor x) => StoredWeights.Linear(x, W_E, null);
}

/// <summary>Learned absolute positions <c>W_pos [n_ctx, d]</c> (GPT-2 family): positions <c>[B, T]</c> to <c>[B, T, d]</c>.</summary>
internal sealed class PositionEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_pos; // [n_ctx, d]
    private readonly ScalarType _dtype;

    public PositionEmbedding(long context, long d, ScalarType dtype, ScalarType weightDType)
        : base("PositionEmbedding")
    {
        Embeddings.CheckTable(context, d, nameof(context));
        _dtype = dtype;
        W_pos = new Parameter(torch.empty(context, d, dtype: weightDType));
        RegisterComponents();
    }

    public override Tensor forward(Tensor positions) => Embeddings.Lookup(W_pos, positions, _dtype); // [B, T, d]
}

/// <summary>A separate unembedding <c>W_U [V, d]</c> (untied weights): the final residual <c>[B, T, d]</c> to logits <c>[B, T, V]</c>.</summary>
internal sealed class Unembedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_U; // [V, d], Linear layout (Hugging Face's lm_head)

    public Unembedding(long vocab, long d, ScalarType weightDType)
        : base("Unembedding")
    {
        Embeddings.CheckTable(vocab, d, nameof(vocab));
        W_U = new Parameter(torch.empty(vocab, d, dtype: weightDType));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => StoredWeights.Linear(x, W_U, null); // [B, T, V]
}

/// <summary>What the tables share.</summary>
internal static class Embeddings
{
    /// <summary>Rows of <paramref name="table"/> <c>[N, d]</c> at <paramref name="ids"/> <c>[B, T]</c>: <c>[B, T, d]</c> in <paramref name="dtype"/>.</summary>
    public static Tensor Lookup(Tensor table, Tensor ids, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var rows = StoredWeights.Rows(table, ids.reshape(-1), dtype); // [B*T, d]
        return scope.MoveToOuter(rows.view(ids.size(0), ids.size(1), table.size(1))); // [B, T, d]
    }

    public static void CheckTable(long rows, long d, string rowsName)
    {
        if (rows <= 0 || d <= 0)
        {
            throw new ArgumentException($"An embedding table needs positive sizes; got {rowsName} {rows}, d {d}.", rowsName);
        }
    }
}
