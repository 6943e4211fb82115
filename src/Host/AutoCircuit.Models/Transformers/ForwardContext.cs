using AutoCircuit.Engine.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// How left padding is recognised in token ids (TransformerLens' <c>get_attention_mask</c> for
/// <c>padding_side = "left"</c>, which auto-circuit sets): the leading run of <see cref="PadId"/>
/// tokens of each row is padding and is never attended to.
/// </summary>
/// <param name="PadId">Token id used for left padding.</param>
/// <param name="PadIsBos">The pad id is also the BOS id (GPT-2's <c>&lt;|endoftext|&gt;</c>): the
/// last token of the leading run is the row's BOS and is attended to, as TransformerLens does when
/// prompts start with BOS (auto-circuit's <c>prepend_bos</c>).</param>
public sealed record TokenPadding(long PadId, bool PadIsBos);

/// <summary>
/// Per-forward tensors shared by every block: positions, the attention masks (full and sliding-window), rotary tables
/// (global and, for Gemma 3's sliding layers, local), the prefix cache in use, and whether hook points run. Built once
/// per forward from the token ids.
/// </summary>
internal sealed class ForwardContext : IDisposable
{
    private ForwardContext(Tensor positions, Tensor allowed, Tensor rowValid, PrefixCache? prefix)
    {
        Positions = positions;
        Allowed = allowed;
        RowValid = rowValid;
        Prefix = prefix;
    }

    /// <summary>Position of each token, <c>[B, T]</c> int64: 0 at the first attended token (the BOS), 0 on padding.</summary>
    public Tensor Positions { get; }

    /// <summary>Which keys each query may attend to, <c>[B, 1, 1, T, S]</c> bool (S = prefix + T).</summary>
    public Tensor Allowed { get; }

    /// <summary><c>[B, 1, 1, T, 1]</c>: 1 for query rows with at least one key, 0 for padding rows (their pattern is zero, as in TransformerLens).</summary>
    public Tensor RowValid { get; }

    /// <summary>
    /// <see cref="Allowed"/> within the sliding window, <c>[B, 1, 1, T, S]</c>: key index k, query index q (absolute,
    /// prefix included) with <c>q - k &lt; window</c>; <c>null</c> without a window.
    /// </summary>
    public Tensor? AllowedSliding { get; private init; }

    /// <summary>Rotary cosines <c>[B, T, 1, r/2]</c> (rotary families, <see cref="Rotary"/>).</summary>
    public Tensor? Cos { get; private init; }

    /// <summary>Rotary sines <c>[B, T, 1, r/2]</c> (rotary families).</summary>
    public Tensor? Sin { get; private init; }

    /// <summary>Rotary cosines of the sliding layers when they have their own base (Gemma 3), else <c>null</c>.</summary>
    public Tensor? CosLocal { get; private init; }

    /// <summary>Rotary sines of the sliding layers when they have their own base (Gemma 3), else <c>null</c>.</summary>
    public Tensor? SinLocal { get; private init; }

    /// <summary>Cached keys/values of a shared prefix, or <c>null</c>.</summary>
    public PrefixCache? Prefix { get; }

    /// <summary>Whether hook points run (off while a prefix cache is computed: the prefix is not part of the graph).</summary>
    public bool HooksEnabled { get; init; } = true;

    /// <summary>When set, each attention layer appends its keys and values (after rotary) here.</summary>
    public List<(Tensor Keys, Tensor Values)>? CollectedKv { get; init; }

    /// <summary>
    /// Passes an activation through a hook point unless hooks are off. The hook must not dispose <paramref name="x"/>;
    /// it returns <paramref name="x"/> or a new tensor that the caller then owns (dispose it with <see cref="IfNew"/>).
    /// </summary>
    public Tensor Apply(HookPoint hook, Tensor x) => HooksEnabled ? hook.Apply(x) : x;

    /// <summary>
    /// Passes a tensor the caller made and hands on (a block's output, a head's result) through a hook point: returns
    /// the hook's result and disposes <paramref name="x"/> when the hook replaced it.
    /// </summary>
    public Tensor ApplyAndRelease(HookPoint hook, Tensor x)
    {
        var y = Apply(hook, x);
        if (!ReferenceEquals(y, x))
        {
            x.Dispose();
        }

        return y;
    }

    /// <summary>
    /// What the caller of <see cref="Apply"/> disposes: the hook's <paramref name="result"/> when it is a new tensor;
    /// <c>null</c> when the hook returned its <paramref name="input"/>, which stays its maker's.
    /// </summary>
    public static Tensor? IfNew(Tensor result, Tensor input) => ReferenceEquals(result, input) ? null : result;

    /// <summary>Appends a layer's keys and values (after rotary) for a prefix cache, which owns the copies.</summary>
    public void Collect(Tensor keys, Tensor values)
    {
        if (CollectedKv is null)
        {
            return;
        }

        using var k = keys.detach();
        using var v = values.detach();
        CollectedKv.Add((k.clone().DetachFromDisposeScope(), v.clone().DetachFromDisposeScope()));
    }

    /// <summary>Builds the context for <paramref name="tokens"/> <c>[B, T]</c> after an optional cached prefix.</summary>
    public static ForwardContext Create(
        Tensor tokens, PrefixCache? prefix, TokenPadding? padding, TransformerConfig config, ScalarType dtype,
        bool hooksEnabled = true, List<(Tensor, Tensor)>? collect = null)
    {
        using var scope = torch.NewDisposeScope();
        var t = tokens.size(1);
        var all = prefix is null ? tokens : torch.cat([prefix.Tokens, tokens], 1); // [B, S]
        var s = all.size(1);
        var p = s - t;
        var keyMask = KeyMask(all, padding); // [B, S] bool
        using var cum = keyMask.to_type(ScalarType.Int64).cumsum(1); // [B, S]
        var positions = (cum - 1).clamp_min(0).narrow(1, p, t).contiguous(); // [B, T]

        using var q = torch.arange(p, s, device: tokens.device).unsqueeze(1); // [T, 1] absolute query index
        using var k = torch.arange(0, s, device: tokens.device).unsqueeze(0); // [1, S]
        using var causal = k.le(q); // [T, S]
        var allowed = causal.unsqueeze(0) & keyMask.unsqueeze(1); // [B, T, S]
        using var anyKey = allowed.any(-1, keepdim: true); // [B, T, 1]
        allowed = (allowed | anyKey.logical_not()).view(tokens.size(0), 1, 1, t, s); // [B, 1, 1, T, S]
        var rowValid = anyKey.to_type(dtype).view(tokens.size(0), 1, 1, t, 1); // [B, 1, 1, T, 1]

        // A window of w keys, the query's own included (Hugging Face's eager/sdpa mask). Padding rows keep their
        // diagonal, so no row is empty; indices are absolute, which left padding shifts equally for query and key.
        Tensor? sliding = null;
        if (config.SlidingWindow is int w)
        {
            using var near = (q - k).lt(w); // [T, S]
            sliding = allowed & near.view(1, 1, 1, t, s); // [B, 1, 1, T, S]
        }

        Tensor? cos = null, sin = null, cosLocal = null, sinLocal = null;
        if (config.UsesRotary)
        {
            (cos, sin) = Rotary.Tables(positions, config.RotaryDim, config.RopeTheta, config.RopeScaling, config.ContextLength, dtype);
            if (config.RopeLocalTheta is double local)
            {
                (cosLocal, sinLocal) = Rotary.Tables(positions, config.RotaryDim, local, null, config.ContextLength, dtype);
            }
        }

        var ctx = new ForwardContext(positions, allowed, rowValid, prefix)
        {
            HooksEnabled = hooksEnabled,
            CollectedKv = collect,
            AllowedSliding = sliding,
            Cos = cos,
            Sin = sin,
            CosLocal = cosLocal,
            SinLocal = sinLocal,
        };
        foreach (var owned in ctx.Owned())
        {
            owned.MoveToOuterDisposeScope();
        }

        return ctx;
    }

    /// <summary>The mask of layers with or without a sliding window, <c>[B, 1, 1, T, S]</c>.</summary>
    public Tensor Mask(bool sliding) => sliding ? AllowedSliding! : Allowed;

    /// <summary>The rotary tables of layers with or without a sliding window (<c>null</c>: learned positions).</summary>
    public (Tensor Cos, Tensor Sin)? Rope(bool sliding) =>
        sliding && CosLocal is not null ? (CosLocal, SinLocal!) : Cos is null ? null : (Cos, Sin!);

    /// <summary>
    /// Which tokens are attended to, <c>[B, S]</c> bool: all but each row's leading run of pad
    /// tokens (and, when the pad id is the BOS id, the run's last token stays attended).
    /// </summary>
    public static Tensor KeyMask(Tensor tokens, TokenPadding? padding)
    {
        if (padding is null)
        {
            return torch.ones_like(tokens, dtype: ScalarType.Bool);
        }

        using var notPad = tokens.ne(padding.PadId); // [B, S]
        using var seen = notPad.to_type(ScalarType.Int64).cumsum(1); // [B, S]
        using var leading = seen.eq(0); // [B, S]
        var mask = leading.logical_not();
        if (padding.PadIsBos)
        {
            using var count = leading.to_type(ScalarType.Int64).sum(1L, keepdim: true); // [B, 1]
            using var bosPos = (count - 1).clamp_min(0); // [B, 1]
            using var ones = torch.ones_like(bosPos, dtype: ScalarType.Bool);
            using var withoutBos = mask;
            mask = withoutBos.scatter(1, bosPos, ones);
        }

        return mask;
    }

    /// <summary>Disposes the owned tensors (not the prefix cache).</summary>
    public void Dispose()
    {
        foreach (var owned in Owned())
        {
            owned.Dispose();
        }
    }

    /// <summary>Detaches the owned tensors from every dispose scope (for contexts kept across calls).</summary>
    public ForwardContext Detach()
    {
        foreach (var owned in Owned())
        {
            owned.DetachFromDisposeScope();
        }

        return this;
    }

    private IEnumerable<Tensor> Owned() =>
        new[] { Positions, Allowed, RowValid, AllowedSliding, Cos, Sin, CosLocal, SinLocal }.OfType<Tensor>();
}
