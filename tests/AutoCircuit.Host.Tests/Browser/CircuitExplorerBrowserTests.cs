using System.Globalization;
using AutoCircuit.Host.Reports;
using Microsoft.Playwright;
using Xunit;

namespace AutoCircuit.Host.Tests.Browser;

/// <summary>
/// report.html's circuit explorer in a real headless Chromium: it loads offline without a console error, and the slider,
/// hover, search, pan/zoom and the two-algorithm diff do what the page says.
/// </summary>
public sealed class CircuitExplorerBrowserTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-explorer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Opens the report; every request the page makes and every console error or page error is recorded.</summary>
    private async Task<(IPage Page, List<string> Errors, List<string> Requests)> Open(ExplorerPage report)
    {
        var path = report.Write(_dir);
        var page = await chromium.Browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
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
        await page.WaitForSelectorAsync("#ce-frame[data-ready=true]");
        await page.Locator("#ce").ScrollIntoViewIfNeededAsync();
        return (page, errors, requests);
    }

    private static async Task<List<string>> DrawnNames(IPage page, string selector = "#ce-edges path.ce-edge") =>
        [.. await page.EvalOnSelectorAllAsync<string[]>(selector, "ps => ps.map(p => p.getAttribute('data-name'))")];

    private static async Task SetSlider(IPage page, int k) => await page.Locator("#ce-k").FillAsync(k.ToString(CultureInfo.InvariantCulture));

    [ChromiumFact]
    public async Task Report_LoadsOfflineWithoutConsoleErrors_AndDrawsTheTopEdgesOfTheFirstAlgorithm()
    {
        var report = new ExplorerPage();

        var (page, errors, requests) = await Open(report);

        Assert.Empty(errors);
        Assert.Single(requests); // the page itself: no script, style, font or image from anywhere
        Assert.Equal(report.Top(report.ScoresA, 30).Order(), (await DrawnNames(page)).Order());
        Assert.Equal("30", await page.Locator("#ce-k-value").TextContentAsync());
        Assert.Contains($"30 edges drawn (top 30 of {report.Graph.EdgeCount})", await page.Locator("#ce-status").TextContentAsync(), StringComparison.Ordinal);
    }

    [ChromiumFact]
    public async Task Slider_ChangesTheNumberOfDrawnEdges()
    {
        var report = new ExplorerPage();
        var (page, errors, _) = await Open(report);

        await SetSlider(page, 5);
        var five = await DrawnNames(page);
        await page.Locator("#ce-k").FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        var six = await DrawnNames(page);
        await SetSlider(page, 150);
        var many = await DrawnNames(page);

        Assert.Equal(report.Top(report.ScoresA, 5).Order(), five.Order());
        Assert.Equal(report.Top(report.ScoresA, 6).Order(), six.Order());
        Assert.Equal(150, many.Count);
        Assert.Equal("150", await page.Locator("#ce-k-value").TextContentAsync());
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task Hover_ShowsTheEdgesNameScoreRankAndKnownCircuit()
    {
        var report = new ExplorerPage();
        var (page, errors, _) = await Open(report);
        var top = report.ScoresA.Order[0];
        var edge = report.Graph.FlatEdges[top];

        // A point on the strongest edge (drawn last, so on top), in page coordinates.
        var point = await page.EvalOnSelectorAsync<double[]>(
            "#ce-edges path[data-rank='1']",
            "p => { const l = p.getTotalLength(); const q = p.getPointAtLength(l * 0.5); const m = p.getScreenCTM(); " +
            "return [q.x * m.a + q.y * m.c + m.e, q.x * m.b + q.y * m.d + m.f]; }");
        var hit = await page.EvaluateAsync<string?>($"document.elementFromPoint({point[0].ToString(CultureInfo.InvariantCulture)}, {point[1].ToString(CultureInfo.InvariantCulture)})?.getAttribute('data-rank')");
        await page.Mouse.MoveAsync((float)point[0], (float)point[1]);
        var tip = page.Locator("#ce-tip");
        await tip.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        var text = await tip.InnerTextAsync();

        Assert.Equal("1", hit);
        Assert.Contains(edge.Name, text, StringComparison.Ordinal);
        Assert.Contains($"{ExplorerPage.A}: score {Svg.Format(report.ScoresA.Values[top], 5)} (rank 1)", text, StringComparison.Ordinal);
        Assert.Contains("in the known circuit", text, StringComparison.Ordinal);
        await page.Mouse.MoveAsync(2, 2);
        Assert.False(await tip.IsVisibleAsync());
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task Search_HighlightsTheNodeAndItsEdges()
    {
        var report = new ExplorerPage();
        var (page, errors, _) = await Open(report);

        await page.Locator("#ce-search").FillAsync("a1.2");
        var hits = await page.EvalOnSelectorAllAsync<string[]>("g.ce-node.ce-hit", "gs => gs.map(g => g.getAttribute('data-key'))");
        var dimmed = await page.Locator("g.ce-node.ce-dim").CountAsync();
        var hitEdges = await DrawnNames(page, "#ce-edges path.ce-hit");
        var count = await page.Locator("#ce-search-count").TextContentAsync();
        await page.Locator("#ce-search").FillAsync("MLP");
        var mlps = await page.Locator("g.ce-node.ce-hit").CountAsync();
        await page.Locator("#ce-search").FillAsync(string.Empty);
        var afterClear = await page.Locator("g.ce-node.ce-hit, g.ce-node.ce-dim").CountAsync();

        Assert.Equal(["A1.2"], hits);
        Assert.Equal("1 node", count);
        Assert.True(dimmed > 10, $"{dimmed} nodes dimmed");
        Assert.All(hitEdges, e => Assert.Contains("A1.2", e, StringComparison.Ordinal));
        Assert.Equal(report.Top(report.ScoresA, 30).Count(e => e.Contains("A1.2", StringComparison.Ordinal)), hitEdges.Count);
        Assert.Equal(3, mlps);
        Assert.Equal(0, afterClear);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task Diff_ShowsTheEdgesInBothAndInEachAlgorithmsCircuitOnly()
    {
        var report = new ExplorerPage();
        var (page, errors, _) = await Open(report);
        var a = report.Top(report.ScoresA, 40);
        var b = report.Top(report.ScoresB, 40);

        await SetSlider(page, 40);
        await page.Locator("#ce-diff").CheckAsync();
        await page.Locator("#ce-algo-b").SelectOptionAsync(new SelectOptionValue { Label = ExplorerPage.B });
        var both = await DrawnNames(page, "#ce-edges path.ce-both");
        var onlyA = await DrawnNames(page, "#ce-edges path.ce-only-a");
        var onlyB = await DrawnNames(page, "#ce-edges path.ce-only-b");
        var summary = await page.Locator("#ce-diff-summary").TextContentAsync();

        Assert.Equal(a.Intersect(b).Order(), both.Order());
        Assert.Equal(a.Except(b).Order(), onlyA.Order());
        Assert.Equal(b.Except(a).Order(), onlyB.Order());
        Assert.NotEmpty(onlyA);
        Assert.NotEmpty(both);
        Assert.Equal($"in both: {both.Count} · only {ExplorerPage.A}: {onlyA.Count} · only {ExplorerPage.B}: {onlyB.Count}", summary);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task PanAndZoom_MoveAndScaleTheView()
    {
        var report = new ExplorerPage();
        var (page, errors, _) = await Open(report);
        async Task<string?> Transform() => await page.Locator("#ce-viewport").GetAttributeAsync("transform");
        var box = (await page.Locator("#ce-svg").BoundingBoxAsync())!;
        var start = await Transform();

        await page.Mouse.MoveAsync(box.X + (box.Width / 2), box.Y + 20);
        await page.Mouse.WheelAsync(0, -300);
        var zoomed = await Transform();
        await page.Mouse.MoveAsync(box.X + 30, box.Y + 30);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + 130, box.Y + 90, new MouseMoveOptions { Steps = 4 });
        await page.Mouse.UpAsync();
        var panned = await Transform();
        await page.Locator("#ce-fit").ClickAsync();

        Assert.NotEqual(start, zoomed);
        Assert.True(Scale(zoomed) > Scale(start), $"{start} -> {zoomed}");
        Assert.Equal(Scale(zoomed), Scale(panned), 6);
        Assert.NotEqual(zoomed, panned);
        Assert.Equal(start, await Transform());
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task TokenPositions_DrawOneBandPerPositionWithItsLabel()
    {
        var report = new ExplorerPage(seqLen: 3, seqLabels: ["BOS", "name", "end"]);
        var (page, errors, _) = await Open(report);

        var drawn = await page.Locator("#ce-edges path.ce-edge").CountAsync();
        var bands = await page.EvalOnSelectorAllAsync<string[]>("#ce-bands text[font-weight=bold]", "ts => ts.map(t => t.textContent)");

        Assert.Equal(30, drawn);
        var positions = report.ScoresA.Order.Take(500).Select(i => report.Graph.FlatEdges[i].SeqIndex!.Value).Distinct().Order().ToList();
        Assert.Equal(positions.Select(p => $"{p}: {new[] { "BOS", "name", "end" }[p]}"), bands);
        Assert.Empty(errors);
    }

    private static double Scale(string? transform)
    {
        var t = transform ?? throw new InvalidOperationException("the viewport has no transform");
        var s = t[(t.IndexOf("scale(", StringComparison.Ordinal) + 6)..].TrimEnd(')');
        return double.Parse(s, CultureInfo.InvariantCulture);
    }
}
