using AutoCircuit.Evaluation;
using AutoCircuit.Host.Sweeps;
using Microsoft.Playwright;
using Xunit;

namespace AutoCircuit.Host.Tests.Browser;

/// <summary>
/// The report of <c>compare --sweep</c> in a real headless Chromium: it opens offline, with no console error and no
/// request but the page's own, and shows the ranking and the robustness table as the data says.
/// </summary>
public sealed class SweepReportBrowserTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-sweep-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ComparedCell C(string alg, string ablation, string patch, long seed, double? auc) =>
        new("induction", "toy-induction", alg, alg, ablation, patch, seed, auc);

    [ChromiumFact]
    public async Task Report_OpensOfflineWithoutErrors_AndShowsRankingAndRobustness()
    {
        var cells = new[]
        {
            C("mask-gradient", "resample", "edge", 1, 10), C("mask-gradient", "resample", "edge", 2, 12),
            C("random", "resample", "edge", 1, 5), C("random", "resample", "edge", 2, 7),
            C("mask-gradient", "zero", "edge", 1, 1), C("mask-gradient", "zero", "edge", 2, 1),
            C("random", "zero", "edge", 1, 9), C("random", "zero", "edge", 2, 11),
        };
        var file = SweepCompare.Build("plan.yaml", "cache", cells, 0, PruneMetric.LogitDiffPercent, []);
        var path = Path.Combine(_dir, "report.html");
        await File.WriteAllTextAsync(path, SweepCompare.ToHtml(file));

        var page = await chromium.Browser!.NewPageAsync();
        var errors = new List<string>();
        var requests = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type is "error" or "warning")
            {
                errors.Add($"{m.Type}: {m.Text}");
            }
        };
        page.PageError += (_, e) => errors.Add("page error: " + e);
        page.Request += (_, r) => requests.Add(r.Url);
        await page.GotoAsync(new Uri(path).AbsoluteUri);

        Assert.Empty(errors);
        Assert.Single(requests);
        Assert.Equal("AutoCircuit sweep comparison", await page.TitleAsync());
        Assert.Equal("induction × toy-induction", (await page.Locator("h2").First.TextContentAsync())?.Trim());

        // The first table is the ranking under the reference condition (resample, edge): mask-gradient (mean 11) first.
        var ranking = await page.Locator("table").First.Locator("tr").AllInnerTextsAsync();
        Assert.StartsWith("1\tmask-gradient\t11", ranking[1], StringComparison.Ordinal);
        Assert.StartsWith("2\trandom\t6", ranking[2], StringComparison.Ordinal);

        // The robustness table shows the flip under the zero ablation.
        var robustness = page.Locator("h3", new PageLocatorOptions { HasTextString = "Ablation robustness" });
        Assert.Equal(1, await robustness.CountAsync());
        var body = await page.Locator("body").InnerTextAsync();
        Assert.Contains("zero", body, StringComparison.Ordinal);
        await page.CloseAsync();
    }
}
