using AutoCircuit.Engine.Hooks;
using AutoCircuit.Graph;

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// The graph nodes of a transformer, built from its config alone (no weights), with auto-circuit's
/// rules for TransformerLens models (<c>model_utils/transformer_lens_utils.py</c>): node names,
/// hook-point module names, layers and <c>src_idx</c> order.
/// </summary>
/// <remarks>
/// <para>Layers: <c>Resid Start</c> is layer 0; each block adds one layer for its attention heads
/// and one for its MLP (attention-only blocks: one; parallel attention/MLP: one, shared).</para>
/// <para>Grouped-query attention (our extension; auto-circuit has none): the Q destinations are per
/// query head (<c>A{l}.{h}.Q</c>), the K and V destinations per key/value head, named
/// <c>A{l}.KV{g}.K</c> and <c>A{l}.KV{g}.V</c> (head index g on the axis of
/// <c>blocks.{l}.hook_k_input</c> / <c>hook_v_input</c>, which have one slot per KV head; KV head g
/// serves query heads <c>g*r .. g*r+r-1</c>, r = heads / KV heads). A block then has
/// <c>H + 2G</c> attention destinations instead of <c>3H</c>. Without grouping the names are
/// auto-circuit's (<c>A{l}.{h}.K</c>).</para>
/// </remarks>
internal static class TransformerGraph
{
    /// <summary>Name of a key or value destination node (see the remarks on <see cref="TransformerGraph"/>).</summary>
    public static string KvNodeName(TransformerConfig config, int layer, int kvHead, char letter)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsGrouped ? $"A{layer}.KV{kvHead}.{letter}" : $"A{layer}.{kvHead}.{letter}";
    }

    /// <summary>Nodes of the factorized graph (auto-circuit's <c>factorized_src_nodes</c> / <c>factorized_dest_nodes</c>).</summary>
    public static GraphNodes Factorized(TransformerConfig config, bool separateQkv)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var srcs = new List<SrcNode>();
        var srcLayer = 0;
        var srcIdx = 0;
        srcs.Add(new SrcNode("Resid Start", HookNames.ResidPre(0), srcLayer++, srcIdx++, Weight: "embed.W_E"));
        for (var l = 0; l < config.Layers; l++)
        {
            var layer = srcLayer++;
            for (var h = 0; h < config.Heads; h++)
            {
                srcs.Add(new SrcNode(
                    $"A{l}.{h}", HookNames.AttnResult(l), layer, srcIdx++, h, HeadDim: HookNames.HeadAxis,
                    Weight: Param(l, "attn.W_O"), WeightHeadDim: 0));
            }

            if (!config.AttnOnly)
            {
                srcs.Add(new SrcNode(
                    $"MLP {l}", HookNames.MlpOut(l), config.ParallelAttnMlp ? layer : srcLayer++, srcIdx++,
                    Weight: Param(l, "mlp.W_out")));
            }
        }

        var dests = new List<DestNode>();
        var destLayer = 1;
        for (var l = 0; l < config.Layers; l++)
        {
            var layer = destLayer++;
            if (separateQkv)
            {
                for (var h = 0; h < config.Heads; h++)
                {
                    dests.Add(new DestNode(
                        $"A{l}.{h}.Q", HookNames.QInput(l), layer, h, HeadDim: HookNames.HeadAxis,
                        Weight: Param(l, "attn.W_Q"), WeightHeadDim: 0));
                }

                foreach (var letter in "KV")
                {
                    for (var g = 0; g < config.KvHeads; g++)
                    {
                        dests.Add(new DestNode(
                            KvNodeName(config, l, g, letter), HookNames.QkvInput(l, letter), layer, g,
                            HeadDim: HookNames.HeadAxis, Weight: Param(l, $"attn.W_{letter}"), WeightHeadDim: 0));
                    }
                }
            }
            else
            {
                for (var h = 0; h < config.Heads; h++)
                {
                    dests.Add(new DestNode(
                        $"A{l}.{h}", HookNames.AttnIn(l), layer, h, HeadDim: HookNames.HeadAxis,
                        Weight: Param(l, "attn.W_QKV"), WeightHeadDim: 0));
                }
            }

            if (!config.AttnOnly)
            {
                dests.Add(new DestNode(
                    $"MLP {l}", HookNames.MlpIn(l), config.ParallelAttnMlp ? layer : destLayer++, Weight: Param(l, "mlp.W_in")));
            }
        }

        dests.Add(new DestNode("Resid End", HookNames.ResidPost(config.Layers - 1), destLayer, Weight: "unembed.W_U"));
        return new GraphNodes(srcs, dests);
    }

    /// <summary>
    /// Nodes of the residual (unfactorized) graph (auto-circuit's <c>simple_graph_nodes</c>).
    /// auto-circuit rejects parallel attention/MLP here; we build it: the MLP output joins the heads
    /// in the block's only layer and <c>Resid Post</c> receives the block input, the heads and the MLP.
    /// </summary>
    public static GraphNodes Residual(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var srcs = new List<SrcNode>();
        var dests = new List<DestNode>();
        var layer = 0;
        var srcIdx = 0;
        var minSrc = srcIdx++;
        for (var l = 0; l < config.Layers; l++)
        {
            var first = l == 0;
            srcs.Add(new SrcNode(
                first ? "Resid Start" : $"Resid Post {l - 1}", first ? HookNames.ResidPre(0) : HookNames.ResidPost(l - 1),
                layer, minSrc));
            for (var h = 0; h < config.Heads; h++)
            {
                srcs.Add(new SrcNode(
                    $"A{l}.{h}", HookNames.AttnResult(l), layer, srcIdx++, h, HeadDim: HookNames.HeadAxis,
                    Weight: Param(l, "attn.W_O"), WeightHeadDim: 0));
            }

            if (!(config.AttnOnly || config.ParallelAttnMlp))
            {
                layer++;
                dests.Add(new DestNode($"Resid Mid {l}", HookNames.ResidMid(l), layer, MinSrcIndex: minSrc));
                minSrc = srcIdx++;
                srcs.Add(new SrcNode($"Resid Mid {l}", HookNames.ResidMid(l), layer, minSrc));
            }

            if (!config.AttnOnly)
            {
                srcs.Add(new SrcNode($"MLP {l}", HookNames.MlpOut(l), layer, srcIdx++, Weight: Param(l, "mlp.W_out")));
            }

            var last = l == config.Layers - 1;
            layer++;
            dests.Add(new DestNode(
                last ? "Resid End" : $"Resid Post {l}", HookNames.ResidPost(l), layer, MinSrcIndex: minSrc));
            minSrc = srcIdx++;
        }

        return new GraphNodes(srcs, dests);
    }

    /// <summary>Name of a block's parameter (see the remarks on <see cref="Transformer"/>), e.g. <c>blocks.0.attn.W_O</c>.</summary>
    private static string Param(int layer, string leaf) => $"blocks.{layer}.{leaf}";
}
