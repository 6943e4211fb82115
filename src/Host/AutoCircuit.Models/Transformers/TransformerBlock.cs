using AutoCircuit.Engine.Hooks;
using static TorchSharp.torch;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names submodules after fields: TransformerLens' names (ln1, attn, ...).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// One transformer block with TransformerLens' hook points: <c>hook_resid_pre</c> → attention →
/// <c>hook_resid_mid</c> → <c>hook_mlp_in</c> → ln2 → MLP → <c>hook_mlp_out</c> → <c>hook_resid_post</c>
/// (attention-only: no MLP and no <c>hook_resid_mid</c>; parallel: the MLP reads the block input).
/// </summary>
/// <remarks>
/// Like <see cref="Attention"/>, the block calls hooks outside any dispose scope of its own: a hook's result is the
/// block's to dispose (<see cref="ForwardContext.IfNew"/>), and the block hands back only its output.
/// </remarks>
internal sealed class TransformerBlock : nn.Module<Tensor, ForwardContext, Tensor>
{
    private readonly Norm ln1;
    private readonly Attention attn;
    private readonly Norm? ln2;
    private readonly Mlp? mlp;
    private readonly bool _parallel;
    private readonly HookPoint _residPre;
    private readonly HookPoint? _residMid;
    private readonly HookPoint? _mlpIn;
    private readonly HookPoint? _mlpOut;
    private readonly HookPoint _residPost;

    public TransformerBlock(TransformerConfig config, int layer, Func<string, HookPoint> hook)
        : base("TransformerBlock")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(hook);
        if (layer < 0 || layer >= config.Layers)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Blocks are 0..{config.Layers - 1}.");
        }

        _parallel = config.ParallelAttnMlp;
        _residPre = hook(HookNames.ResidPre(layer));
        ln1 = new Norm(config);
        attn = new Attention(config, layer, ln1, hook);
        if (!config.AttnOnly)
        {
            _residMid = _parallel ? null : hook(HookNames.ResidMid(layer));
            _mlpIn = hook(HookNames.MlpIn(layer));
            ln2 = new Norm(config);
            mlp = new Mlp(config);
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
        using var normed = ln2!.forward(mlpIn); // [B, T, d]
        using var mlpOut = ctx.ApplyAndRelease(_mlpOut!, mlp.forward(normed)); // [B, T, d]
        if (mid is not null)
        {
            return ctx.ApplyAndRelease(_residPost, mid + mlpOut);
        }

        using var attnSum = resid + attnOut; // parallel: (resid + attn) + mlp, left to right
        return ctx.ApplyAndRelease(_residPost, attnSum + mlpOut);
    }
}
