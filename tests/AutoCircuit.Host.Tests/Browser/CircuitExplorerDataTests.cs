using System.Text.Json;
using System.Text.RegularExpressions;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Reports;
using Xunit;

namespace AutoCircuit.Host.Tests.Browser;

/// <summary>What the explorer puts into the page, checked without a browser: the data, its escaping, no network.</summary>
public sealed partial class CircuitExplorerDataTests
{
    [Fact]
    public void DataJson_CarriesEachAlgorithmsTopEdgesInRankOrderOverOneEdgeTable()
    {
        var report = new ExplorerPage();
        var algorithms = new[]
        {
            new ExplorerAlgorithm(ExplorerPage.A, "#111111", report.ScoresA),
            new ExplorerAlgorithm(ExplorerPage.B, "#222222", report.ScoresB),
        };

        using var doc = JsonDocument.Parse(CircuitExplorer.DataJson(algorithms, report.Graph, null, report.Known, 30, 50));

        var root = doc.RootElement;
        var edges = root.GetProperty("edges").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();
        var a = root.GetProperty("algorithms")[0].GetProperty("top").EnumerateArray().ToList();
        var b = root.GetProperty("algorithms")[1].GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(50, root.GetProperty("maxEdges").GetInt32());
        Assert.Equal(30, root.GetProperty("initialEdges").GetInt32());
        Assert.Equal(report.Graph.EdgeCount, root.GetProperty("graphEdges").GetInt32());
        Assert.Equal(report.ScoresA.Order.Take(50).Select(i => report.Graph.FlatEdges[i].Name), a.Select(t => edges[t[0].GetInt32()]));
        Assert.Equal(report.ScoresB.Order.Take(50).Select(i => report.Graph.FlatEdges[i].Name), b.Select(t => edges[t[0].GetInt32()]));
        Assert.Equal(report.Top(report.ScoresA, 50).Union(report.Top(report.ScoresB, 50)).Count(), edges.Count);
        Assert.Equal(report.ScoresA.Values[report.ScoresA.Order[0]], a[0][1].GetSingle());
        Assert.Equal(Svg.Format(report.ScoresA.Values[report.ScoresA.Order[0]], 5), a[0][2].GetString());
        var known = root.GetProperty("known").EnumerateArray().Select(k => edges[k.GetInt32()]).Order();
        Assert.Equal(report.Known.Select(e => e.Name).Where(edges.Contains).Order(), known);
    }

    [Fact]
    public void Report_AnAlgorithmNamedLikeMarkup_CannotBreakOutOfTheDataScript()
    {
        var report = new ExplorerPage();
        var result = new ComparisonResult(
            report.Result.Subject,
            report.Result.Settings,
            [new ComparedAlgorithm { Label = "</script><script>alert(1)</script>", FileStem = "x", Flat = report.ScoresA }]);

        var html = HtmlReport.Render(result, "compare");

        var data = DataScript().Match(html);
        Assert.True(data.Success);
        Assert.DoesNotContain("<", data.Groups[1].Value, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(data.Groups[1].Value);
        Assert.Equal("</script><script>alert(1)</script>", doc.RootElement.GetProperty("algorithms")[0].GetProperty("label").GetString());
    }

    [Fact]
    public void Report_IsSelfContained_NoAddressButTheSvgNamespace()
    {
        var html = HtmlReport.Render(new ExplorerPage().Result, "compare");

        var addresses = Address().Matches(html).Select(m => m.Value).Distinct().ToList();
        Assert.Equal(["http://www.w3.org/2000/svg"], addresses);
        Assert.DoesNotContain(" src=", html, StringComparison.Ordinal);
        Assert.Contains("<h2>Circuit explorer</h2>", html, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Count(html, "<script", RegexOptions.None, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Render_NoAlgorithmWithScores_LeavesTheSectionOut()
    {
        var report = new ExplorerPage();

        Assert.Equal(string.Empty, CircuitExplorer.Render([], report.Graph, null, null, 30));
    }

    [GeneratedRegex("<script type=\"application/json\" id=\"ce-data\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex DataScript();

    [GeneratedRegex("(https?|ftp)://[^\"'\\s)<>]+")]
    private static partial Regex Address();
}
