using System.Text.RegularExpressions;
using System.Xml.Linq;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Reports;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Transformers;
using Xunit;

namespace AutoCircuit.Host.Tests.Reports;

/// <summary>The pictures: circuit diagrams and charts are well-formed SVG that show what they claim.</summary>
public sealed partial class ReportTests
{
    private static ModelGraph Micro(int? seqLen = null)
    {
        using var micro = new MicroModel();
        var nodes = micro.FactorizedNodes(false);
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true, seqLen);
    }

    private static ModelGraph SmallGpt2()
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 16,
            Layers = 2,
            Heads = 2,
            DMlp = 32,
            VocabSize = 10,
            ContextLength = 8,
        };
        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);
    }

    /// <summary>The drawn edges: (tooltip, stroke, width) of each coloured edge path.</summary>
    private static List<(string Tip, string Stroke, double Width)> Edges(string svg)
    {
        var doc = XDocument.Parse(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        return doc.Descendants(ns + "path")
            .Where(p => (string?)p.Attribute("stroke") != "#000" && p.Element(ns + "title") is not null)
            .Select(p => (p.Element(ns + "title")!.Value, (string)p.Attribute("stroke")!, double.Parse((string)p.Attribute("stroke-width")!, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }

    [Fact]
    public void Diagram_TopK_DrawsKEdgesColouredBySignAndWideByMagnitude()
    {
        var graph = Micro();
        var values = new float[graph.EdgeCount];
        values[3] = 4;
        values[7] = -2;
        values[9] = 1;
        values[1] = 0.5f;
        var flat = FlatScores.FromValues(graph, values);

        var svg = CircuitDiagram.Render(flat, 3, "t");

        var edges = Edges(svg);
        Assert.Equal(3, edges.Count);
        var byRank = edges.OrderBy(e => e.Tip, StringComparer.Ordinal).ToList();
        Assert.StartsWith($"#1 {graph.FlatEdges[3]}: score 4", byRank[0].Tip, StringComparison.Ordinal);
        Assert.StartsWith($"#2 {graph.FlatEdges[7]}: score -2", byRank[1].Tip, StringComparison.Ordinal);
        Assert.StartsWith($"#3 {graph.FlatEdges[9]}: score 1", byRank[2].Tip, StringComparison.Ordinal);
        Assert.Equal([Svg.Positive, Svg.Negative, Svg.Positive], byRank.Select(e => e.Stroke));
        Assert.Equal(7, byRank[0].Width, 6); // the largest |score| is the widest
        Assert.True(byRank[0].Width > byRank[1].Width && byRank[1].Width > byRank[2].Width);
        Assert.Contains("top 3 of 13 edges", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Diagram_KnownEdges_AreMarkedAndNamedInTheTooltip()
    {
        var graph = Micro();
        var flat = FlatScores.FromValues(graph, [.. Enumerable.Range(1, graph.EdgeCount).Select(i => (float)i)]);
        var known = new HashSet<Edge> { graph.FlatEdges[12] };

        var svg = CircuitDiagram.Render(flat, 2, "t", known: known);

        Assert.Single(KnownMarker().Matches(svg));
        Assert.Contains($"#1 {graph.FlatEdges[12]}: score 13 (in the known circuit)", Edges(svg).Select(e => e.Tip));
        Assert.Contains($"#2 {graph.FlatEdges[11]}: score 12", Edges(svg).Select(e => e.Tip));
        Assert.Contains("edge of the known circuit</text>", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Diagram_TokenPositions_OneLabelledBandPerPositionWithEdges()
    {
        var graph = Micro(seqLen: 3);
        var values = new float[graph.EdgeCount];
        var atTwo = graph.FlatEdges.Select((e, i) => (e, i)).First(t => t.e.SeqIndex == 2).i;
        var atZero = graph.FlatEdges.Select((e, i) => (e, i)).First(t => t.e.SeqIndex == 0).i;
        values[atTwo] = 2;
        values[atZero] = -1;

        var svg = CircuitDiagram.Render(FlatScores.FromValues(graph, values), 2, "t", ["first", "middle", "last"]);

        Assert.Contains(">0: first</text>", svg, StringComparison.Ordinal);
        Assert.Contains(">2: last</text>", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("1: middle", svg, StringComparison.Ordinal); // no drawn edge at position 1
        Assert.Equal(2, Edges(svg).Count);
    }

    [Fact]
    public void Diagram_HeadInputs_EndAtTheHeadsBoxWithTheirPort()
    {
        var graph = SmallGpt2();
        var q = graph.FlatEdges.Select((e, i) => (e, i)).First(t => t.e.Dest.Name == "A1.1.Q" && t.e.Src.Name == "A0.0").i;
        var v = graph.FlatEdges.Select((e, i) => (e, i)).First(t => t.e.Dest.Name == "A1.1.V" && t.e.Src.Name == "A0.0").i;
        var values = new float[graph.EdgeCount];
        values[q] = 1;
        values[v] = 1;

        var svg = CircuitDiagram.Render(FlatScores.FromValues(graph, values), 2, "t");

        Assert.DoesNotContain(">A1.1.Q<", svg, StringComparison.Ordinal); // Q/K/V are ports of the head's box
        Assert.Contains(">A1.1</text>", svg, StringComparison.Ordinal);
        Assert.Contains("(q input)", svg, StringComparison.Ordinal);
        Assert.Contains("(v input)", svg, StringComparison.Ordinal);
        Assert.Contains(">q</text>", svg, StringComparison.Ordinal);
        Assert.Contains(">v</text>", svg, StringComparison.Ordinal);
        Assert.DoesNotContain(">k</text>", svg, StringComparison.Ordinal);
        var ends = Edges(svg).Select(e => e.Tip).ToList();
        Assert.Equal(2, ends.Count);
    }

    [Fact]
    public void LineChart_NonFiniteValue_BreaksTheLineAndLogAxisHasDecadeTicks()
    {
        var series = new ChartSeries("a", "#123456", [(0, 1), (1, 2), (10, double.NaN), (100, 3), (1000, 4)]);

        var svg = LineChart.Render(
            new ChartOptions { Title = "t", XLabel = "x", YLabel = "y", XScale = AxisScale.Log1p, XRange = (0, 1000) }, [series]);

        var doc = XDocument.Parse(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2, doc.Descendants(ns + "path").Count(p => (string?)p.Attribute("stroke") == "#123456"));
        Assert.Equal(4, doc.Descendants(ns + "circle").Count());
        foreach (var tick in new[] { ">0<", ">1<", ">10<", ">100<", ">1000<" })
        {
            Assert.Contains(tick, svg, StringComparison.Ordinal);
        }

        Assert.Contains("x (log scale)", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void NiceTicks_RoundSteps()
    {
        Assert.Equal([0, 5, 10], Svg.NiceTicks(0, 13));
        Assert.Equal([-100, -50, 0, 50, 100], Svg.NiceTicks(-110, 110));
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1], Svg.NiceTicks(0, 1).Select(t => Math.Round(t, 10)));
    }

    [GeneratedRegex("<circle class=\"known\"")]
    private static partial Regex KnownMarker();
}
