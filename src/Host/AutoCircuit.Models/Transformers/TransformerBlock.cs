using AutoCircuit.Engine.Hooks;
using static TorchSharp.torch;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names submodules after fields: TransformerLens' names (ln1, attn, ...).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// One transformer block with TransformerLens' hook points: <c>hook_resid_pre</c> → attention →
/// <c>hook_resid_mid</c> → <c>hook_mlp_in</c> → ln2 → MLP → (ln2_post) → <c>hook_mlp_out</c> → <c>hook_resid_post</c>
/// (attention-only: no MLP and no <c>hook_resid_mid</c>; parallel: the MLP reads the block input). The norms follow
/// <see cref="TransformerConfig.NormPlacement"/>: <c>ln1</c>/<c>ln2</c> before attention and MLP (absent for OLMo-2),
/// <c>ln1_post</c>/<c>ln2_post</c> after them (Gemma, OLMo-2).
/// </summary>
/// <remarks>
/// Like <see cref="Attention"/>, the block calls hooks outside any dispose scope of its own: a hook's result is the
/// block's to dispose (<see cref="ForwardContext.IfNew"/>), and the block hands back only its output.
/// </remarks>
internal sealed class TransformerBlock : nn.Module<Tensor, ForwardContext, Tensor>
{
    private readonly Norm? ln1;
    private readonly Norm? ln1_post;
    private readonly Attention attn;
    private readonly Norm? ln2;
    private readonly Mlp? mlp;
    private readonly Norm? ln2_post;
    private readonly bool _parallel;
    private readonly HookPoint _residPre;
    private readonly HookPoint? _residMid;
    private readonly HookPoint? _mlpIn;
    private readonly HookPoint? _mlpOut;
    private readonly HookPoint _residPost;

    public TransformerBlock(TransformerConfig config, int layer, Func<string, HookPoint> hook, ScalarType dtype, ScalarType weightDType)
        : base("TransformerBlock")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(hook);
        if (layer < 0 || layer >= config.Layers)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Blocks are 0..{config.Layers - 1}.");
        }

        _parallel = config.ParallelAttnMlp;
        var pre = config.NormPlacement != NormPlacement.Post;
        var post = config.NormPlacement != NormPlacement.Pre;
        _residPre = hook(HookNames.ResidPre(layer));
        ln1 = pre ? Norm.For(config, dtype) : null;
        ln1_post = post ? Norm.For(config, dtype) : null;
        attn = new Attention(config, layer, ln1 is null ? x => x.alias() : ln1.forward, ln1_post, hook, dtype, weightDType);
        if (!config.AttnOnly)
        {
            _residMid = _parallel ? null : hook(HookNames.ResidMid(layer));
            _mlpIn = hook(HookNames.MlpIn(layer));
            ln2 = pre ? Norm.For(config, dtype) : null;
            mlp = new Mlp(config, dtype, weightDType);
            ln2_post = post ? Norm.For(config, dtype) : null;
            _mlpOut = hook(HookNames.MlpOut(layer));
        }

        _residPost = hook(HookNames.ResidPost(layer));
        RegisterComponents();
    }

    /// <summary>The block output <c>[B, T, d]</c> for its input residual <paramref name="residIn"/> <c>[B, T, d]</c>.</summary>
    public override Tensor forward(Tensor residIn, ForwardContext ctx)
    {
        var resid = ctx.Apply(_residPre, residIn); // [B, T, d]
        using var ownedResid = ForwardContext.IfNew(resid, residIn);
        using var attnOut = attn.forward(resid, ctx); // [B, T, d]
        if (mlp is null)
        {
            return ctx.ApplyAndRelease(_residPost, resid + attnOut);
        }

        // Sequential: the MLP reads the residual after attention (hook_resid_mid); parallel: the block input.
        using var mid = _parallel ? null : ctx.ApplyAndRelease(_residMid!, resid + attnOut); // [B, T, d]
        var mlpSource = mid ?? resid;
        var mlpIn = ctx.Apply(_mlpIn!, mlpSource); // [B, T, d]
        using var ownedMlpIn = ForwardContext.IfNew(mlpIn, mlpSource);
        using var normed = ln2 is null ? mlpIn.alias() : ln2.forward(mlpIn); // [B, T, d]
        using var mlpOut = ctx.ApplyAndRelease(_mlpOut!, PostNorm(mlp.forward(normed))); // [B, T, d]
        if (mid is not null)
        {
            return ctx.ApplyAndRelease(_residPost, mid + mlpOut);
        }

        using var attnSum = resid + attnOut; // parallel: (resid + attn) + mlp, left to right
        return ctx.ApplyAndRelease(_residPost, attnSum + mlpOut);
    }

    /// <summary>The MLP output through <c>ln2_post</c>, if any (takes ownership of <paramref name="x"/>).</summary>
    private Tensor PostNorm(Tensor x)
    {
        if (ln2_post is null)
        {
            return x;
        }

        using (x)
        {
            return ln2_post.forward(x);
        }
    }
}
