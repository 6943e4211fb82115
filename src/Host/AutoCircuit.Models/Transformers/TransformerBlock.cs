using AutoCircuit.Engine.Hooks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

#pragma warning disable IDE1006, SA1300, SA1306 // TorchSharp names parameters after fields: TransformerLens' names (W_Q, b_Q, w, b).

namespace AutoCircuit.Models.Transformers;

/// <summary>LayerNorm (GPT-2 family) or RMSNorm (Llama family) over the last axis.</summary>
internal sealed class Norm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter w; // [d]
    private readonly Parameter? b; // [d], LayerNorm only
    private readonly double _eps;
    private readonly long _d;

    public Norm(TransformerConfig config)
        : base("Norm")
    {
        _d = config.DModel;
        _eps = config.NormEps;
        w = new Parameter(torch.ones(_d));
        b = config.Family == TransformerFamily.Gpt2 ? new Parameter(torch.zeros(_d)) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (b is not null)
        {
            return F.layer_norm(x, [_d], w, b, _eps);
        }

        using var meanSquare = x.square().mean([-1L], keepdim: true); // [..., 1]
        using var inv = (meanSquare + _eps).rsqrt(); // [..., 1]
        using var normed = x * inv;
        return normed * w;
    }
}

/// <summary>The MLP: dense with a GELU/ReLU (GPT-2 family) or SwiGLU <c>W_out(silu(W_gate x) * W_in x)</c> (Llama family).</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_in; // [d_mlp, d] (Llama: w3 / up_proj)
    private readonly Parameter? b_in; // [d_mlp]
    private readonly Parameter? W_gate; // [d_mlp, d] (Llama: w1 / gate_proj)
    private readonly Parameter? b_gate; // [d_mlp]
    private readonly Parameter W_out; // [d, d_mlp] (Llama: w2 / down_proj)
    private readonly Parameter? b_out; // [d]
    private readonly MlpActivation _activation;

    public Mlp(TransformerConfig config)
        : base("Mlp")
    {
        _activation = config.Activation;
        W_in = new Parameter(torch.empty(config.DMlp, config.DModel));
        W_out = new Parameter(torch.empty(config.DModel, config.DMlp));
        if (config.Family == TransformerFamily.Llama)
        {
            W_gate = new Parameter(torch.empty(config.DMlp, config.DModel));
        }

        if (config.MlpBias)
        {
            b_in = new Parameter(torch.zeros(config.DMlp));
            b_out = new Parameter(torch.zeros(config.DModel));
            b_gate = W_gate is null ? null : new Parameter(torch.zeros(config.DMlp));
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var pre = F.linear(x, W_in, b_in); // [B, T, d_mlp]
        Tensor hidden;
        if (W_gate is not null)
        {
            using var gate = F.linear(x, W_gate, b_gate); // [B, T, d_mlp]
            using var act = F.silu(gate);
            hidden = act * pre;
        }
        else
        {
            hidden = _activation switch
            {
                MlpActivation.GeluNew => GeluNew(pre),
                MlpActivation.Gelu => F.gelu(pre),
                MlpActivation.Relu => F.relu(pre),
                _ => throw new InvalidOperationException($"Unknown activation {_activation}."),
            };
        }

        using (hidden)
        {
            return F.linear(hidden, W_out, b_out); // [B, T, d]
        }
    }

    /// <summary>GPT-2's GELU: <c>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))</c>, written out as Hugging Face does.</summary>
    private static Tensor GeluNew(Tensor x)
    {
        using var cube = x.pow(3.0);
        using var inner = (x + (cube * 0.044715)) * Math.Sqrt(2.0 / Math.PI);
        using var tanh = inner.tanh();
        using var half = x * 0.5;
        return half * (tanh + 1.0);
    }
}

/// <summary>
/// Causal self-attention with per-head hook points. Each head reads its own copy of the residual
/// stream (<c>hook_attn_in</c>, <c>hook_q_input</c>, <c>hook_k_input</c>, <c>hook_v_input</c>,
/// <c>[B, T, heads, d]</c>) and writes its own output after <c>W_O</c> (<c>attn.hook_result</c>,
/// <c>[B, T, H, d]</c>), as TransformerLens does with <c>use_split_qkv_input</c>,
/// <c>use_attn_in</c> and <c>use_attn_result</c>.
/// </summary>
/// <remarks>
/// While no hook changes a per-head input, every head reads the same residual, so Q/K/V are
/// computed once with one norm and one matmul per projection; the per-head path runs only for the
/// inputs a hook replaced (patch mode). Head outputs are always computed per head and summed, so
/// installing hooks does not change a single bit of the output.
/// </remarks>
internal sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Parameter W_Q; // [H * dh, d]
    private readonly Parameter W_K; // [G * dh, d]
    private readonly Parameter W_V; // [G * dh, d]
    private readonly Parameter W_O; // [H, dh, d]
    private readonly Parameter? b_Q; // [H * dh]
    private readonly Parameter? b_K; // [G * dh]
    private readonly Parameter? b_V; // [G * dh]
    private readonly Parameter? b_O; // [d]
    private readonly TransformerConfig _config;
    private readonly int _layer;
    private readonly HookPoint _hookAttnIn;
    private readonly HookPoint _hookQ;
    private readonly HookPoint _hookK;
    private readonly HookPoint _hookV;
    private readonly HookPoint _hookResult;
    private readonly HookPoint _hookPattern;

    public Attention(TransformerConfig config, int layer, Func<string, HookPoint> hook)
        : base("Attention")
    {
        _config = config;
        _layer = layer;
        long h = config.Heads, g = config.KvHeads, dh = config.DHead, d = config.DModel;
        W_Q = new Parameter(torch.empty(h * dh, d));
        W_K = new Parameter(torch.empty(g * dh, d));
        W_V = new Parameter(torch.empty(g * dh, d));
        W_O = new Parameter(torch.empty(h, dh, d));
        if (config.AttnBias)
        {
            b_Q = new Parameter(torch.zeros(h * dh));
            b_K = new Parameter(torch.zeros(g * dh));
            b_V = new Parameter(torch.zeros(g * dh));
            b_O = new Parameter(torch.zeros(d));
        }

        _hookAttnIn = hook(HookNames.AttnIn(layer));
        _hookQ = hook(HookNames.QInput(layer));
        _hookK = hook(HookNames.KInput(layer));
        _hookV = hook(HookNames.VInput(layer));
        _hookResult = hook(HookNames.AttnResult(layer));
        _hookPattern = hook(HookNames.AttnPattern(layer));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        throw new NotSupportedException("Attention needs the forward context: call Forward(resid, norm, context).");

    /// <summary>The attention output <c>[B, T, d]</c> for the block input <paramref name="resid"/> <c>[B, T, d]</c>.</summary>
    public Tensor Forward(Tensor resid, Norm norm, ForwardContext ctx)
    {
        long b = resid.shape[0], t = resid.shape[1], d = resid.shape[2];
        long h = _config.Heads, g = _config.KvHeads, dh = _config.DHead;
        using var shared = resid.unsqueeze(2); // [B, T, 1, d]
        using var perHead = shared.expand(b, t, h, d); // [B, T, H, d], a view
        var attnIn = ctx.Apply(_hookAttnIn, perHead); // [B, T, H, d]
        var attnInShared = ReferenceEquals(attnIn, perHead);
        var qIn = ctx.Apply(_hookQ, attnIn); // [B, T, H, d]

        // K/V read one copy per KV head; if hook_attn_in changed the per-query-head inputs, K and V
        // are computed per query head (each from its own input, with its group's weights).
        using var perKvHead = shared.expand(b, t, g, d); // [B, T, G, d], a view
        var kvIn = attnInShared ? perKvHead : attnIn;
        var kIn = ctx.Apply(_hookK, kvIn);
        var vIn = ctx.Apply(_hookV, kvIn);

        Tensor? normed = null; // norm(resid) [B, T, d], shared by every untouched input
        Tensor Normed() => normed ??= norm.forward(resid);
        try
        {
            using var q = Project(qIn, attnInShared && ReferenceEquals(qIn, attnIn), norm, Normed, W_Q, b_Q, h); // [B, T, H, dh]
            using var k = Project(kIn, attnInShared && ReferenceEquals(kIn, kvIn), norm, Normed, W_K, b_K, g); // [B, T, G|H, dh]
            using var v = Project(vIn, attnInShared && ReferenceEquals(vIn, kvIn), norm, Normed, W_V, b_V, g); // [B, T, G|H, dh]
            using var qr = Rotate(q, ctx);
            using var kr = Rotate(k, ctx);
            ctx.CollectedKv?.Add((kr.detach().clone(), v.detach().clone()));
            using var z = Attend(qr, kr, v, ctx); // [B, T, H, dh]
            using var perHeadOut = torch.einsum("bthe,hed->bthd", z, W_O); // [B, T, H, d]
            var result = ctx.Apply(_hookResult, perHeadOut); // [B, T, H, d]
            var summed = result.sum(2L); // [B, T, d]
            return b_O is null ? summed : summed.add_(b_O);
        }
        finally
        {
            normed?.Dispose();
        }
    }

    /// <summary>
    /// Normalises and projects a per-head input <c>[B, T, n, d]</c> to <c>[B, T, n, dh]</c> with
    /// weights for <paramref name="m"/> heads (n = m, or n = H and m = G: per query head with its group's weights).
    /// </summary>
    private Tensor Project(Tensor input, bool untouched, Norm norm, Func<Tensor> normed, Tensor w, Tensor? bias, long m)
    {
        long b = input.shape[0], t = input.shape[1], n = input.shape[2], d = input.shape[3], dh = _config.DHead;
        if (untouched)
        {
            using var flat = F.linear(normed(), w, bias); // [B, T, m * dh]
            return flat.view(b, t, m, dh); // [B, T, m, dh]
        }

        using var wh = w.view(m, dh, d); // [m, dh, d]
        using var headMajor = input.movedim([2L], [0L]); // [n, B, T, d], a view
        if (headMajor.is_contiguous())
        {
            // Heads first in memory (the patching engine's layout): normalise and project each head in place, one
            // batched matrix product over heads, without the copies einsum would make.
            using var lnh = norm.forward(headMajor); // [n, B, T, d]
            var r0 = n / m;
            using var rows = lnh.view(m, r0 * b * t, d); // [m, r*B*T, d]: head = g*r + j
            using var wt = wh.transpose(1, 2); // [m, d, dh]
            using var yh = torch.bmm(rows, wt); // [m, r*B*T, dh]
            using var biasedH = bias is null ? yh.alias() : yh + bias.view(m, 1, dh);
            using var perHeadRows = biasedH.view(n, b, t, dh); // [n, B, T, dh]
            return perHeadRows.movedim([0L], [2L]); // [B, T, n, dh], heads first in memory
        }

        using var ln = norm.forward(input); // [B, T, n, d]
        if (n == m)
        {
            using var y = torch.einsum("bthd,hed->bthe", ln, wh); // [B, T, m, dh]
            return bias is null ? y.alias() : y + bias.view(m, dh);
        }

        var r = n / m;
        using var grouped = ln.view(b, t, m, r, d); // [B, T, G, r, d]
        using var yg = torch.einsum("btgrd,ged->btgre", grouped, wh); // [B, T, G, r, dh]
        using var biased = bias is null ? yg.alias() : yg + bias.view(m, 1, dh);
        return biased.reshape(b, t, n, dh); // [B, T, H, dh]
    }

    /// <summary>Rotary position embedding (Llama family); identity for learned positions.</summary>
    private Tensor Rotate(Tensor x, ForwardContext ctx)
    {
        if (ctx.Cos is null || ctx.Sin is null)
        {
            return x.alias();
        }

        long b = x.shape[0], t = x.shape[1], n = x.shape[2], dh = x.shape[3], half = dh / 2;
        if (_config.RopeInterleaved)
        {
            using var pairs = x.view(b, t, n, half, 2); // [B, T, n, dh/2, 2]: dims (2i, 2i+1)
            using var x0 = pairs.select(-1, 0); // [B, T, n, dh/2]
            using var x1 = pairs.select(-1, 1);
            using var r0 = (x0 * ctx.Cos) - (x1 * ctx.Sin);
            using var r1 = (x0 * ctx.Sin) + (x1 * ctx.Cos);
            using var stacked = torch.stack([r0, r1], -1); // [B, T, n, dh/2, 2]
            return stacked.view(b, t, n, dh); // [B, T, n, dh]
        }

        using var lo = x.narrow(-1, 0, half); // [B, T, n, dh/2]: dims (i, i + dh/2)
        using var hi = x.narrow(-1, half, half);
        using var a = (lo * ctx.Cos) - (hi * ctx.Sin);
        using var c = (hi * ctx.Cos) + (lo * ctx.Sin);
        return torch.cat([a, c], -1); // [B, T, n, dh]
    }

    /// <summary>Scaled dot-product attention with the causal/padding mask; keys/values grouped.</summary>
    private Tensor Attend(Tensor q, Tensor k, Tensor v, ForwardContext ctx)
    {
        long b = q.shape[0], t = q.shape[1], h = q.shape[2], dh = q.shape[3];
        Tensor keys = k, values = v; // [B, T, n, dh]
        var disposeKv = false;
        if (ctx.Prefix is { } prefix)
        {
            var pk = prefix.Keys(_layer); // [B, P, G, dh]
            var pv = prefix.Values(_layer);
            if (pk.shape[2] != k.shape[2])
            {
                // Per-query-head K/V (hook_attn_in changed): the cached groups serve r heads each.
                var r = k.shape[2] / pk.shape[2];
                pk = pk.repeat_interleave(r, 2); // [B, P, H, dh]
                pv = pv.repeat_interleave(r, 2);
            }

            keys = torch.cat([pk, k], 1); // [B, S, n, dh]
            values = torch.cat([pv, v], 1);
            disposeKv = true;
        }

        try
        {
            long n = keys.shape[2], s = keys.shape[1], rep = h / n;
            using var qh = q.permute(0, 2, 1, 3).reshape(b, n, rep * t, dh); // [B, n, r*T, dh]: head = g*r + j
            using var kh = keys.permute(0, 2, 3, 1); // [B, n, dh, S]
            using var raw = torch.matmul(qh, kh); // [B, n, r*T, S]
            using var scores = (raw / Math.Sqrt(dh)).view(b, n, rep, t, s); // [B, n, r, T, S]
            using var notAllowed = ctx.Allowed.logical_not(); // [B, 1, 1, T, S]
            using var masked = scores.masked_fill(notAllowed, double.NegativeInfinity);
            using var softmax = F.softmax(masked, -1);
            using var pattern = softmax * ctx.RowValid; // [B, n, r, T, S]; padding rows are zero
            using var perHead = pattern.view(b, h, t, s); // [B, H, T, S]: head = g*r + j
            var observed = ctx.Apply(_hookPattern, perHead); // not a graph node: for analysis (attention scores)
            using var vh = values.permute(0, 2, 1, 3); // [B, n, S, dh]
            using var z = torch.matmul(observed.view(b, n, rep * t, s), vh); // [B, n, r*T, dh]
            return z.view(b, h, t, dh).permute(0, 2, 1, 3); // [B, T, H, dh]
        }
        finally
        {
            if (disposeKv)
            {
                keys.Dispose();
                values.Dispose();
            }
        }
    }
}

/// <summary>
/// One transformer block with TransformerLens' hook points: <c>hook_resid_pre</c> → attention →
/// <c>hook_resid_mid</c> → <c>hook_mlp_in</c> → MLP → <c>hook_mlp_out</c> → <c>hook_resid_post</c>
/// (attention-only: no MLP and no <c>hook_resid_mid</c>; parallel: the MLP reads the block input).
/// </summary>
internal sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly Norm ln1;
    private readonly Attention attn;
    private readonly Norm? ln2;
    private readonly Mlp? mlp;
    private readonly TransformerConfig _config;
    private readonly HookPoint _residPre;
    private readonly HookPoint? _residMid;
    private readonly HookPoint? _mlpIn;
    private readonly HookPoint? _mlpOut;
    private readonly HookPoint _residPost;

    public TransformerBlock(TransformerConfig config, int layer, Func<string, HookPoint> hook)
        : base("TransformerBlock")
    {
        _config = config;
        _residPre = hook(HookNames.ResidPre(layer));
        ln1 = new Norm(config);
        attn = new Attention(config, layer, hook);
        if (!config.AttnOnly)
        {
            if (!config.ParallelAttnMlp)
            {
                _residMid = hook(HookNames.ResidMid(layer));
            }

            _mlpIn = hook(HookNames.MlpIn(layer));
            ln2 = new Norm(config);
            mlp = new Mlp(config);
            _mlpOut = hook(HookNames.MlpOut(layer));
        }

        _residPost = hook(HookNames.ResidPost(layer));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) =>
        throw new NotSupportedException("A block needs the forward context: call Forward(resid, context).");

    /// <summary>The block output <c>[B, T, d]</c> for its input residual <c>[B, T, d]</c>.</summary>
    public Tensor Forward(Tensor residIn, ForwardContext ctx)
    {
        var resid = ctx.Apply(_residPre, residIn); // [B, T, d]
        using var attnOut = attn.Forward(resid, ln1, ctx); // [B, T, d]
        if (mlp is null)
        {
            return ctx.Apply(_residPost, resid + attnOut);
        }

        Tensor mlpIn, mid;
        if (_config.ParallelAttnMlp)
        {
            mid = resid;
            mlpIn = ctx.Apply(_mlpIn!, resid);
        }
        else
        {
            mid = ctx.Apply(_residMid!, resid + attnOut);
            mlpIn = ctx.Apply(_mlpIn!, mid);
        }

        using var normed = ln2!.forward(mlpIn); // [B, T, d]
        using var mlpRaw = mlp.forward(normed);
        var mlpOut = ctx.Apply(_mlpOut!, mlpRaw); // [B, T, d]
        var post = _config.ParallelAttnMlp ? resid + attnOut + mlpOut : mid + mlpOut;
        return ctx.Apply(_residPost, post);
    }
}
