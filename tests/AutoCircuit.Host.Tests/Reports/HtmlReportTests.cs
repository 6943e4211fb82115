using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Reports;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Patching;
using Xunit;

namespace AutoCircuit.Host.Tests.Reports;

/// <summary>
/// The report explains its numbers: ground truth as a curve, both AUC definitions with the reason their rankings
/// differ, tied sizes named in the legend, max-float scores in words, diagrams that fit the page, and one colour per
/// algorithm key in every report.
/// </summary>
public sealed partial class HtmlReportTests
{
    private static readonly PruneMetric Metric = PruneMetric.LogitDiffPercent;

    private static ModelGraph Micro()
    {
        using var micro = new MicroModel();
        var nodes = micro.FactorizedNodes(false);
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);
    }

    /// <summary>An evaluation whose sizes <paramref name="requested"/> admitted <paramref name="real"/> edges and measured
    /// <paramref name="values"/> (logit difference percent).</summary>
    private static CircuitEvaluation Evaluation(int edges, int[] requested, int[] real, double[] values)
    {
        var results = requested.Select((k, i) => new CircuitResult(
            k, real[i], PruneMetric.All.ToDictionary(m => m.Key, _ => values[i], StringComparer.Ordinal))).ToList();
        var evaluation = new CircuitEvaluation(new CircuitRunOptions(), edges, results, new Dictionary<string, double?>(), null);
        var auc = PruneMetric.All.ToDictionary(m => m.Key, m => AreaUnderCurve.ForMetric(m, evaluation.Curve(m)), StringComparer.Ordinal);
        return evaluation with { Auc = auc };
    }

    private static ComparedAlgorithm Algorithm(ModelGraph graph, string key, float[] scores, CircuitEvaluation evaluation)
    {
        var flat = FlatScores.FromValues(graph, scores);
        return new ComparedAlgorithm
        {
            Label = key,
            FileStem = key,
            Key = key,
            Name = key,
            Scores = flat.ToPruneScores(),
            Flat = flat,
            Evaluations = new Dictionary<PatchType, CircuitEvaluation> { [PatchType.EdgePatch] = evaluation },
        };
    }

    /// <summary>
    /// random (a straight line from 0 to 100 % over sizes 0 … 13), ground-truth (sizes 0, 5 and all 13: its two score
    /// groups; 80 % at 5 edges, so that its log-axis area, 5 … 13 edges only, is below random's) and an
    /// ACDC whose scores tie at max float but for one edge (sizes 0, 1 and 13 only).
    /// </summary>
    private static ComparisonResult Result(IReadOnlyList<string> order)
    {
        var graph = Micro();
        var n = graph.EdgeCount;
        var all = Enumerable.Range(0, n + 1).ToArray();
        var known = graph.FlatEdges.Take(5).ToHashSet();
        var algorithms = new Dictionary<string, ComparedAlgorithm>
        {
            ["random"] = Algorithm(graph, "random", [.. Enumerable.Range(0, n).Select(i => (float)(n - i))],
                Evaluation(n, all, all, [.. all.Select(k => 100.0 * k / n)])),
            ["ground-truth"] = Algorithm(graph, "ground-truth", [.. Enumerable.Range(0, n).Select(i => i < 5 ? 1f : 0f)],
                Evaluation(n, [0, 5, n], [0, 5, n], [0, 80, 100])),
            ["acdc"] = Algorithm(graph, "acdc", [.. Enumerable.Range(0, n).Select(i => i == 0 ? 0.5f : float.MaxValue)],
                Evaluation(n, all, [0, .. Enumerable.Repeat(n - 1, n - 1), n], [0, .. Enumerable.Repeat(90.0, n - 1), 100])),
        };
        var subject = new ComparisonSubject
        {
            ModelSpec = "micro",
            ModelDescription = "micro",
            Dataset = "test",
            Graph = graph,
            KnownEdges = known,
            KnownCircuitSource = "test",
        };
        return new ComparisonResult(subject, new ComparisonSettings { PatchTypes = [PatchType.EdgePatch] }, [.. order.Select(k => algorithms[k])]);
    }

    private static string Render(params string[] order)
    {
        using var result = Result(order);
        return HtmlReport.Render(result, "run");
    }

    /// <summary>The (x, y) vertices of the chart paths drawn in <paramref name="color"/>.</summary>
    private static List<int> PathVertexCounts(string html, string color) =>
        [.. PathPattern().Matches(html).Where(m => m.Groups["stroke"].Value == color).Select(m => m.Groups["d"].Value.Count(c => c is 'M' or 'L'))];

    [GeneratedRegex("<path d=\"(?<d>[^\"]*)\" stroke=\"(?<stroke>#[0-9a-f]{6})\"")]
    private static partial Regex PathPattern();

    [Fact]
    public void Render_GroundTruthWithTwoScoreGroups_DrawsACurveThroughItsThreeSizes()
    {
        var html = Render("random", "ground-truth", "acdc");

        Assert.Equal([3], PathVertexCounts(html, AlgorithmColors.For("ground-truth")));
    }

    [Fact]
    public void Render_LateFirstCircuit_ExplainsWhyItsLogAxisAucIsBelowRandomsAndShowsTheMean()
    {
        using var result = Result(["random", "ground-truth", "acdc"]);
        var gt = result.Algorithms[1];
        var random = result.Algorithms[0];
        var pt = PatchType.EdgePatch;

        var html = HtmlReport.Render(result, "run");

        // The premise: on the log axis ground truth scores below random, its mean over sizes above.
        Assert.True(ComparisonResult.Auc(gt, pt, Metric) < ComparisonResult.Auc(random, pt, Metric));
        var gtMean = AreaUnderCurve.MeanOverSizes(gt.Evaluations[pt].Curve(Metric))!.Value;
        Assert.Equal(((5 * 40.0) + (8 * 90.0)) / 13, gtMean, 9);
        Assert.Equal(50, AreaUnderCurve.MeanOverSizes(random.Evaluations[pt].Curve(Metric))!.Value, 9);

        Assert.Contains("AUC, log edges<sup>1</sup>", html, StringComparison.Ordinal);
        Assert.Contains("mean over sizes<sup>2</sup>", html, StringComparison.Ordinal);
        Assert.Contains($"<td>{Svg.Format(gtMean)}</td>", html, StringComparison.Ordinal);
        Assert.Contains("ground-truth's smallest non-empty circuit has 5 edges (its scores tie), so its log-axis area covers only 5 … 13 edges", html, StringComparison.Ordinal);
        Assert.Contains("That is why ground-truth's log-axis AUC (", html, StringComparison.Ordinal);
        Assert.Contains($"compare the means over sizes ({Svg.Format(gtMean)} and 50)", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_TiedScores_LegendAndNoteNameTheSizes()
    {
        var html = Render("random", "ground-truth", "acdc");

        Assert.Contains(">acdc (3 sizes)<", html, StringComparison.Ordinal);
        Assert.Contains("acdc: 2 distinct |score| values, 3 sizes (0, 12, 13)", html, StringComparison.Ordinal);
        Assert.DoesNotContain("random (", html, StringComparison.Ordinal); // every requested size is its own
    }

    [Fact]
    public void Render_MaxFloatScores_ReadAsMaxFloatWithTheirMeaning()
    {
        var html = Render("acdc");

        Assert.Contains("<td>≥3.4e38 (max float)</td>", html, StringComparison.Ordinal);
        Assert.Contains("no threshold τ removed the edge", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("[0-9][eE]\\+?38", html.Replace("3.4e38", string.Empty, StringComparison.Ordinal));
    }

    [Fact]
    public void Render_AlgorithmsInAnyOrder_KeepTheirKeysColours()
    {
        var first = Render("random", "ground-truth", "acdc");
        var second = Render("acdc", "random");

        foreach (var key in new[] { "acdc", "random" })
        {
            var swatch = $"<span class=\"swatch\" style=\"background:{AlgorithmColors.For(key)}\"></span>{key}";
            Assert.Contains(swatch, first, StringComparison.Ordinal);
            Assert.Contains(swatch, second, StringComparison.Ordinal);
        }

        Assert.NotEqual(AlgorithmColors.For("acdc"), AlgorithmColors.For("random"));
        Assert.Equal(AlgorithmColors.For("my-plugin"), AlgorithmColors.For("my-plugin"));
    }

    [Fact]
    public void Assign_SameKeyTwice_SecondIsADarkerShade()
    {
        var colors = AlgorithmColors.Assign([("acdc", "acdc"), ("acdc #2", "acdc")]);

        Assert.Equal(AlgorithmColors.For("acdc"), colors["acdc"]);
        Assert.NotEqual(colors["acdc"], colors["acdc #2"]);
        Assert.Equal("#407338", colors["acdc #2"]); // #59a14f × 0.72
    }

    [Fact]
    public void Diagram_FiveLayerTransformer_FitsThePageAndScalesDown()
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Llama,
            DModel = 64,
            Layers = 5,
            Heads = 8,
            KvHeads = 4,
            DMlp = 172,
            VocabSize = 512,
            ContextLength = 64,
        };
        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);
        var flat = FlatScores.FromValues(graph, [.. Enumerable.Range(0, graph.EdgeCount).Select(i => (float)Math.Sin(i))]);

        var svg = XElement.Parse(CircuitDiagram.Render(flat, 30, "stories"));

        // Resid Start, attention and MLP of five layers, Resid End: twelve columns within the report's 1440 px.
        var width = double.Parse((string)svg.Attribute("width")!, CultureInfo.InvariantCulture);
        Assert.InRange(width, 600, 1400);
        Assert.Equal($"0 0 {svg.Attribute("width")!.Value} {svg.Attribute("height")!.Value}", (string?)svg.Attribute("viewBox"));
        Assert.Contains("max-width:100%", (string?)svg.Attribute("style"), StringComparison.Ordinal);
        Assert.Contains(svg.Descendants(), e => e.Value == "Resid End");
    }

    [Fact]
    public void Render_Diagrams_AreNotInAScrollingBox()
    {
        var html = Render("random", "acdc");

        Assert.Equal(2, Regex.Matches(html, "class=\"diagram\"").Count);
        Assert.DoesNotMatch("<div class=\"scroll\"><svg[^>]*class=\"diagram\"", html);
    }
}
