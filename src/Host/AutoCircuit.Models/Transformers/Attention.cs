using AutoCircuit.Engine.Hooks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (W_Q, b_Q, ...).

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// Causal self-attention with per-head hook points, as TransformerLens with <c>use_attn_in</c>,
/// <c>use_split_qkv_input</c> and <c>use_attn_result</c>: each head reads its own copy of the block input
/// (<c>hook_attn_in</c>, then <c>hook_q_input</c> <c>[B, T, H, d]</c> and <c>hook_k_input</c> / <c>hook_v_input</c>
/// <c>[B, T, G, d]</c>, one per key/value head), normalised with the block's <c>ln1</c>, and writes its own output
/// after <c>W_O</c> (<c>attn.hook_result</c> <c>[B, T, H, d]</c>); the output is their sum <c>[B, T, d]</c>.
/// </summary>
/// <remarks>
/// <para>An input no hook replaced is the residual itself, so it is normalised once and projected with one matmul; only
/// replaced inputs (patch mode) take the per-head path. Head outputs are always computed per head and summed, so
/// installing hooks does not change a single bit of the output. Hooks run here, outside any dispose scope of ours: what
/// a hook keeps is its owner's, what it returns is ours to dispose; the arithmetic between hooks runs in scoped helpers.</para>
/// <para>Later families' switches (<see cref="TransformerConfig"/>): q/k RMSNorm before the rotary embedding, a score
/// scale and soft cap, a sliding window, partial rotary, and a norm after the attention (Gemma's <c>ln1_post</c>,
/// OLMo-2). That norm acts on the sum of the heads, so it cannot run per head; since RMSNorm is a per-position scale
/// <c>n(x) = x * f(x)</c>, each head's output becomes its share <c>W_O z_h * f(sum of heads)</c>: the shares add up to
/// exactly what the block adds to the residual, which is what the graph's sources must do.</para>
/// </remarks>
internal sealed class Attention : nn.Module<Tensor, ForwardContext, Tensor>
{
    private readonly Parameter W_Q; // [H * Dh, d]
    private readonly Parameter W_K; // [G * Dh, d]
    private readonly Parameter W_V; // [G * Dh, d]
    private readonly Parameter W_O; // [H, Dh, d]
    private readonly Parameter? b_Q; // [H * Dh]
    private readonly Parameter? b_K; // [G * Dh]
    private readonly Parameter? b_V; // [G * Dh]
    private readonly Parameter? b_O; // [d]
    private readonly Norm? q_norm; // [Dh] per head, or [H * Dh] whole projection
    private readonly Norm? k_norm; // [Dh] per head, or [G * Dh] whole projection
    private readonly Func<Tensor, Tensor> _ln1; // the block's ln1 (its parameters are the block's: blocks.{l}.ln1.w)
    private readonly Norm? _ln1Post; // the block's norm after attention (blocks.{l}.ln1_post.w), if any
    private readonly long _heads; // H
    private readonly long _kvHeads; // G; query head h uses key/value head h / (H / G)
    private readonly long _dHead; // Dh
    private readonly bool _ropeInterleaved;
    private readonly bool _wholeQkNorm;
    private readonly bool _sliding;
    private readonly double? _scale; // null: divide by sqrt(Dh), as GPT-2 and TransformerLens do
    private readonly double? _softcap;
    private readonly int _layer;
    private readonly HookPoint _hookAttnIn;
    private readonly HookPoint _hookQ;
    private readonly HookPoint _hookK;
    private readonly HookPoint _hookV;
    private readonly HookPoint _hookResult;
    private readonly HookPoint _hookPattern;

    public Attention(TransformerConfig config, int layer, Func<Tensor, Tensor> ln1, Norm? ln1Post, Func<string, HookPoint> hook, ScalarType dtype, ScalarType weightDType)
        : base("Attention")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(ln1);
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        if (config.Heads <= 0 || config.KvHeads <= 0 || config.Heads % config.KvHeads != 0)
        {
            throw new ArgumentException(
                $"Attention needs Heads a positive multiple of KvHeads; got Heads {config.Heads}, KvHeads {config.KvHeads}.", nameof(config));
        }

        if (config.DHead <= 0 || (config.UsesRotary && config.RotaryDim % 2 != 0))
        {
            throw new ArgumentException($"Attention needs a positive DHead, an even rotary width; got {config.DHead}, {config.RotaryDim}.", nameof(config));
        }

        long h = config.Heads, g = config.KvHeads, dh = config.DHead, d = config.DModel;
        (_heads, _kvHeads, _dHead, _layer, _ropeInterleaved, _ln1, _ln1Post) = (h, g, dh, layer, config.RopeInterleaved, ln1, ln1Post);
        (_sliding, _scale, _softcap) = (config.IsSliding(layer), config.AttnScale, config.AttnSoftcap);
        W_Q = new Parameter(torch.empty(h * dh, d, dtype: weightDType));
        W_K = new Parameter(torch.empty(g * dh, d, dtype: weightDType));
        W_V = new Parameter(torch.empty(g * dh, d, dtype: weightDType));
        W_O = new Parameter(torch.empty(h, dh, d, dtype: weightDType));
        if (config.AttnBias)
        {
            b_Q = new Parameter(torch.zeros(h * dh, dtype: dtype));
            b_K = new Parameter(torch.zeros(g * dh, dtype: dtype));
            b_V = new Parameter(torch.zeros(g * dh, dtype: dtype));
        }

        if (config.AttnOutBias)
        {
            b_O = new Parameter(torch.zeros(d, dtype: dtype));
        }

        _wholeQkNorm = config.QkNorm == QkNorm.Whole;
        if (config.QkNorm != QkNorm.None)
        {
            q_norm = Norm.For(config, _wholeQkNorm ? h * dh : dh, dtype);
            k_norm = Norm.For(config, _wholeQkNorm ? g * dh : dh, dtype);
        }

        _hookAttnIn = hook(HookNames.AttnIn(layer));
        _hookQ = hook(HookNames.QInput(layer));
        _hookK = hook(HookNames.KInput(layer));
        _hookV = hook(HookNames.VInput(layer));
        _hookResult = hook(HookNames.AttnResult(layer));
        _hookPattern = hook(HookNames.AttnPattern(layer));
        RegisterComponents();
    }

    /// <summary>The attention output <c>[B, T, d]</c> for the block input <paramref name="resid"/> <c>[B, T, d]</c>.</summary>
    public override Tensor forward(Tensor resid, ForwardContext ctx)
    {
        long b = resid.size(0), t = resid.size(1), d = resid.size(2);
        using var shared = resid.unsqueeze(2); // [B, T, 1, d]
        using var perHead = shared.expand(b, t, _heads, d); // [B, T, H, d], a view
        var attnIn = ctx.Apply(_hookAttnIn, perHead); // [B, T, H, d]
        using var ownedAttnIn = ForwardContext.IfNew(attnIn, perHead);
        var attnInShared = ReferenceEquals(attnIn, perHead);
        var qIn = ctx.Apply(_hookQ, attnIn); // [B, T, H, d]
        using var ownedQIn = ForwardContext.IfNew(qIn, attnIn);

        // K/V read one copy per KV head; if hook_attn_in changed the per-query-head inputs, K and V are computed per
        // query head (each from its own input, with its group's weights).
        using var perKvHead = shared.expand(b, t, _kvHeads, d); // [B, T, G, d], a view
        var kvIn = attnInShared ? perKvHead : attnIn; // [B, T, G|H, d]
        var kIn = ctx.Apply(_hookK, kvIn);
        using var ownedKIn = ForwardContext.IfNew(kIn, kvIn);
        var vIn = ctx.Apply(_hookV, kvIn);
        using var ownedVIn = ForwardContext.IfNew(vIn, kvIn);

        bool qShared = attnInShared && ReferenceEquals(qIn, attnIn);
        bool kShared = attnInShared && ReferenceEquals(kIn, kvIn);
        bool vShared = attnInShared && ReferenceEquals(vIn, kvIn);
        using var normed = qShared || kShared || vShared ? _ln1(resid) : null; // [B, T, d], shared by untouched inputs
        using var q = NormQk(Project(qIn, qShared ? normed : null, W_Q, b_Q, _heads), q_norm); // [B, T, H, Dh]
        using var k = NormQk(Project(kIn, kShared ? normed : null, W_K, b_K, _kvHeads), k_norm); // [B, T, G|H, Dh]
        using var v = Project(vIn, vShared ? normed : null, W_V, b_V, _kvHeads); // [B, T, G|H, Dh]
        using var qr = Rotate(q, ctx); // [B, T, H, Dh]
        using var kr = Rotate(k, ctx); // [B, T, G|H, Dh]
        ctx.Collect(kr, v);
        using var keys = WithPrefix(kr, ctx, values: false); // [B, S, G|H, Dh]
        using var values = WithPrefix(v, ctx, values: true); // [B, S, G|H, Dh]

        using var pattern = Pattern(qr, keys, ctx.Mask(_sliding), ctx.RowValid); // [B, H, T, S]
        var observed = ctx.Apply(_hookPattern, pattern); // not a graph node: for analysis (attention scores)
        using var ownedObserved = ForwardContext.IfNew(observed, pattern);
        using var z = Mix(observed, values); // [B, T, H, Dh]
        using var perHeadOut = HeadOutputs(z); // [B, T, H, d]
        var result = ctx.Apply(_hookResult, perHeadOut); // [B, T, H, d]
        using var ownedResult = ForwardContext.IfNew(result, perHeadOut);
        var summed = result.sum(2L); // [B, T, d]
        return b_O is null ? summed : summed.add_(b_O);
    }

    /// <summary>
    /// Projects a per-head input <c>[B, T, n, d]</c> to <c>[B, T, n, Dh]</c> with weights for <paramref name="m"/> heads
    /// (n = m, or n = H and m = G: per query head with its group's weights); from <paramref name="normed"/>
    /// <c>[B, T, d]</c> when the input is the untouched residual.
    /// </summary>
    private Tensor Project(Tensor input, Tensor? normed, Tensor w, Tensor? bias, long m)
    {
        using var scope = torch.NewDisposeScope();
        long b = input.size(0), t = input.size(1), n = input.size(2), d = input.size(3), dh = _dHead;
        if (normed is not null)
        {
            var flat = StoredWeights.Linear(normed, w, bias); // [B, T, m * Dh]
            return scope.MoveToOuter(flat.view(b, t, m, dh)); // [B, T, m, Dh]
        }

        var wh = w.view(m, dh, d); // [m, Dh, d]
        var headMajor = input.movedim([2L], [0L]); // [n, B, T, d], a view
        if (headMajor.is_contiguous())
        {
            // Heads first in memory (the patching engine's layout): normalise and project each head in place, one
            // batched matrix product over heads, without the copies einsum would make.
            var rows = _ln1(headMajor).view(m, n / m * b * t, d); // [m, r*B*T, d]: head = g*r + j
            var yh = StoredWeights.BatchedLinear(rows, wh); // [m, r*B*T, Dh] = [m, r*B*T, d] x [m, d, Dh]
            var biasedH = bias is null ? yh : yh + bias.view(m, 1, dh); // bias [m, 1, Dh]
            return scope.MoveToOuter(biasedH.view(n, b, t, dh).movedim([0L], [2L])); // [B, T, n, Dh], heads first in memory
        }

        var ln = _ln1(input); // [B, T, n, d]
        if (n == m)
        {
            var y = StoredWeights.Einsum("bthd,hed->bthe", ln, wh); // [B, T, m, Dh]
            return scope.MoveToOuter(bias is null ? y : y + bias.view(m, dh)); // bias [m, Dh]
        }

        var grouped = ln.view(b, t, m, n / m, d); // [B, T, G, r, d]
        var yg = StoredWeights.Einsum("btgrd,ged->btgre", grouped, wh); // [B, T, G, r, Dh]
        var biased = bias is null ? yg : yg + bias.view(m, 1, dh); // bias [G, 1, Dh]
        return scope.MoveToOuter(biased.reshape(b, t, n, dh)); // [B, T, H, Dh]
    }

    /// <summary>
    /// Queries or keys <c>[B, T, n, Dh]</c> through their RMSNorm, if any (takes ownership of <paramref name="x"/>).
    /// Whole-projection norms (OLMo-2) normalise all heads of a position together; per-query-head keys (n = H with G
    /// weights, when <c>hook_attn_in</c> changed) are r copies of the projection, query head g*r + j reading copy j.
    /// </summary>
    private Tensor NormQk(Tensor x, Norm? norm)
    {
        if (norm is null)
        {
            return x;
        }

        using (x)
        {
            if (!_wholeQkNorm)
            {
                return norm.forward(x); // over Dh, per head
            }

            using var scope = torch.NewDisposeScope();
            long b = x.size(0), t = x.size(1), n = x.size(2), dh = x.size(3);
            var width = norm.Width / dh; // heads the weight covers: H for queries, G for keys
            var copies = x.view(b, t, width, n / width, dh).transpose(2, 3).reshape(b, t, n / width, width * dh); // [B, T, r, n'*Dh]
            var normed = norm.forward(copies).view(b, t, n / width, width, dh).transpose(2, 3); // [B, T, n', r, Dh]
            return scope.MoveToOuter(normed.reshape(b, t, n, dh)); // [B, T, n, Dh]
        }
    }

    /// <summary>Rotary position embedding (rotary families; the sliding layers' own base when set); an alias for learned positions.</summary>
    private Tensor Rotate(Tensor x, ForwardContext ctx) =>
        ctx.Rope(_sliding) is var (cos, sin) ? Rotary.Apply(x, cos, sin, _ropeInterleaved) : x.alias();

    /// <summary>
    /// Each head's output <c>[B, T, H, d]</c> from <paramref name="z"/> <c>[B, T, H, Dh]</c>; with a norm after the
    /// attention, each head's share of the normed sum (see the remarks on <see cref="Attention"/>).
    /// </summary>
    private Tensor HeadOutputs(Tensor z)
    {
        using var scope = torch.NewDisposeScope();
        var perHead = StoredWeights.Einsum("bthe,hed->bthd", z, W_O); // [B, T, H, d]
        if (_ln1Post is null)
        {
            return scope.MoveToOuter(perHead);
        }

        var factor = _ln1Post.Scale(perHead.sum(2L)); // [B, T, d], float32
        return scope.MoveToOuter((perHead * factor.unsqueeze(2)).to_type(perHead.dtype)); // [B, T, H, d]
    }

    /// <summary>Keys or values <c>[B, T, n, Dh]</c> after the cached prefix's, <c>[B, S, n, Dh]</c> (S = P + T).</summary>
    private Tensor WithPrefix(Tensor x, ForwardContext ctx, bool values)
    {
        if (ctx.Prefix is not { } prefix)
        {
            return x.alias();
        }

        using var scope = torch.NewDisposeScope();
        var cached = values ? prefix.Values(_layer) : prefix.Keys(_layer); // [B, P, G, Dh]
        if (cached.size(2) != x.size(2))
        {
            // Per-query-head K/V (hook_attn_in changed): the cached groups serve r heads each.
            cached = cached.repeat_interleave(x.size(2) / cached.size(2), 2); // [B, P, H, Dh]
        }

        return scope.MoveToOuter(torch.cat([cached, x], 1)); // [B, S, n, Dh]
    }

    /// <summary>
    /// The attention pattern <c>[B, H, T, S]</c>: softmax (float32) of the scaled, optionally soft-capped scores under
    /// <paramref name="allowed"/> <c>[B, 1, 1, T, S]</c>, zero on padding rows as in TransformerLens. Keys stay grouped:
    /// query head h = g*r + j reads key head g.
    /// </summary>
    private Tensor Pattern(Tensor q, Tensor keys, Tensor allowed, Tensor rowValid)
    {
        using var scope = torch.NewDisposeScope();
        long b = q.size(0), t = q.size(1), h = q.size(2), dh = q.size(3);
        long n = keys.size(2), s = keys.size(1), r = h / n;
        var qh = q.permute(0, 2, 1, 3).reshape(b, n, r * t, dh); // [B, H, T, Dh] -> [B, n, r*T, Dh]
        var kh = keys.permute(0, 2, 3, 1); // [B, n, Dh, S]
        var dot = torch.matmul(qh, kh); // [B, n, r*T, S]
        var scores = (_scale is double scale ? dot * scale : dot / Math.Sqrt(dh)).view(b, n, r, t, s); // [B, n, r, T, S]
        if (_softcap is double cap)
        {
            scores = (scores / cap).tanh() * cap; // Gemma 2: before the mask
        }

        var masked = scores.masked_fill(allowed.logical_not(), double.NegativeInfinity); // mask [B, 1, 1, T, S]
        var probs = q.dtype == ScalarType.Float32 ? F.softmax(masked, -1) : F.softmax(masked, -1, ScalarType.Float32).to_type(q.dtype);
        var pattern = probs * rowValid; // [B, n, r, T, S]; RowValid [B, 1, 1, T, 1]
        return scope.MoveToOuter(pattern.view(b, h, t, s)); // [B, H, T, S]
    }

    /// <summary>Each head's pattern <c>[B, H, T, S]</c> applied to its group's values <c>[B, S, n, Dh]</c>: <c>[B, T, H, Dh]</c>.</summary>
    private static Tensor Mix(Tensor pattern, Tensor values)
    {
        using var scope = torch.NewDisposeScope();
        long b = pattern.size(0), h = pattern.size(1), t = pattern.size(2), s = pattern.size(3);
        long n = values.size(2), dh = values.size(3), r = h / n;
        var vh = values.permute(0, 2, 1, 3); // [B, n, S, Dh]
        var z = torch.matmul(pattern.view(b, n, r * t, s), vh); // [B, n, r*T, S] x [B, n, S, Dh] = [B, n, r*T, Dh]
        return scope.MoveToOuter(z.view(b, h, t, dh).permute(0, 2, 1, 3)); // [B, H, T, Dh] -> [B, T, H, Dh]
    }
}
