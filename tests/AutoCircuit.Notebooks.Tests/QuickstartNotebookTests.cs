using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Notebooks.Tests;

/// <summary>
/// docs/notebooks/quickstart.ipynb, executed headlessly (<see cref="NotebookRunner"/>) with the AutoCircuit package
/// packed into artifacts/pkg (the notebook's package source here): every cell runs without error, the scores table shows the top edges that
/// <c>dotnet autocircuit run -a mask-gradient</c> prints, with the same scores, and the circuits table the sizes and
/// logit-difference percentages of its circuits/mask-gradient.json. The executed notebook is saved to
/// artifacts/notebooks/quickstart.ipynb.
/// </summary>
public sealed partial class QuickstartNotebookTests(ITestOutputHelper output)
{
    private const string FeedProperty = "RestoreAdditionalProjectSources";

    [NotebookFact]
    public async Task Quickstart_RunsHeadlessly_AndShowsTheNumbersOfTheCliRun()
    {
        var root = NotebookFactAttribute.RepositoryRoot;
        var notebook = Path.Combine(root, "docs", "notebooks", "quickstart.ipynb");
        var version = NotebookFactAttribute.PackedVersion;
        Assert.True(version is not null, $"No AutoCircuit package (with its AutoCircuit.Abstractions) in {NotebookFactAttribute.Feed}.");
        output.WriteLine($"AutoCircuit {version} from {NotebookFactAttribute.Feed}");

        // The notebook asks for the repository's major.minor, so a version bump that forgets it fails here.
        var majorMinor = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "version.json"))).RootElement.GetProperty("version").GetString();
        Assert.Contains($"#r \\\"nuget: AutoCircuit, {majorMinor}.*\\\"", File.ReadAllText(notebook), StringComparison.Ordinal);

        // A package of this version restored before (a repack at the same git height) would be served from the cache.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } nugetPackages
            ? nugetPackages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Path.Combine(cache, "autocircuit", version);
        if (Directory.Exists(cached))
        {
            Directory.Delete(cached, recursive: true);
        }

        // The notebook's "#r nuget:" restores see the local folder as a package source (an MSBuild property read from the
        // environment by the kernel's restore), as "#i" with its full path would add it.
        var started = Stopwatch.StartNew();
        Environment.SetEnvironmentVariable(FeedProperty, NotebookFactAttribute.Feed);
        InteractiveDocument document;
        IReadOnlyList<ExecutedCell> cells;
        try
        {
            (document, cells) = await NotebookRunner.RunAsync(notebook);
        }
        finally
        {
            Environment.SetEnvironmentVariable(FeedProperty, null);
        }

        output.WriteLine($"notebook: {cells.Count} code cells in {started.Elapsed.TotalSeconds:0.0} s");
        foreach (var c in cells)
        {
            output.WriteLine($"  cell {c.Index}: {c.Elapsed.TotalSeconds:0.0} s");
        }

        var executed = Path.Combine(root, "artifacts", "notebooks", "quickstart.ipynb");
        Directory.CreateDirectory(Path.GetDirectoryName(executed)!);
        await File.WriteAllTextAsync(executed, document.ToJupyterJson());

        // The same job on the command line.
        var cli = RunTool(root, "run", "-a", "mask-gradient", "--top", "10");
        var scoresHtml = Assert.Single(cells.SelectMany(c => c.Texts), t => t.Contains("autocircuit-scores", StringComparison.Ordinal));
        var circuitsHtml = Assert.Single(cells.SelectMany(c => c.Texts), t => t.Contains("autocircuit-circuits", StringComparison.Ordinal));

        // Top edges: the CLI's markdown table "| rank | edge | position | score |" against the notebook's HTML table.
        var expectedTop = MarkdownRow().Matches(cli.Stdout).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, Number(m.Groups[4].Value))).ToList();
        var shownTop = HtmlRow4().Matches(scoresHtml).Select(m => (m.Groups[1].Value, WebUtility.HtmlDecode(m.Groups[2].Value), m.Groups[3].Value, Number(m.Groups[4].Value))).ToList();
        Assert.Equal(10, expectedTop.Count);
        Assert.Equal(expectedTop.Select(e => (e.Item1, e.Item2, e.Item3)), shownTop.Select(e => (e.Item1, e.Item2, e.Item3)));
        foreach (var (e, s) in expectedTop.Zip(shownTop))
        {
            Assert.True(Math.Abs(e.Item4 - s.Item4) <= 1e-5 * Math.Max(1, Math.Abs(e.Item4)), $"{e.Item2}: CLI {e.Item4}, notebook {s.Item4}");
        }

        Assert.Contains("<svg", scoresHtml, StringComparison.Ordinal);

        // Circuits: every size of circuits/mask-gradient.json with its logit-difference percentage.
        using var circuitsFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(cli.Folder, "circuits", "mask-gradient.json")));
        var expectedSizes = circuitsFile.RootElement.GetProperty("results").EnumerateArray().Select(r =>
            (r.GetProperty("requested").GetInt32(), r.GetProperty("edges").GetInt32(),
             r.GetProperty("metrics").GetProperty("logit-diff-percent").GetDouble())).ToList();
        var shownSizes = HtmlRow3().Matches(circuitsHtml).Select(m =>
            (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Number(m.Groups[3].Value))).ToList();
        Assert.True(expectedSizes.Count > 3, $"only {expectedSizes.Count} circuit sizes in the CLI's file");
        Assert.Equal(expectedSizes.Select(e => (e.Item1, e.Item2)), shownSizes.Select(s => (s.Item1, s.Item2)));
        foreach (var (e, s) in expectedSizes.Zip(shownSizes))
        {
            Assert.True(Math.Abs(e.Item3 - s.Item3) <= 1e-5 * Math.Max(1, Math.Abs(e.Item3)), $"{e.Item1} edges: CLI {e.Item3}, notebook {s.Item3}");
        }

        Assert.Contains("<svg", circuitsHtml, StringComparison.Ordinal);

        // The user's own analysis: a table of activation norms per source module; the report file.
        Assert.Contains(cells.SelectMany(c => c.Texts), t => t.Contains("<table", StringComparison.Ordinal) && t.Contains("blocks.0", StringComparison.Ordinal) && t.Contains("norm", StringComparison.Ordinal));
        Assert.Contains(cells.SelectMany(c => c.Texts), t => ReportLine().IsMatch(t));
    }

    private static double Number(string text) =>
        double.Parse(text.Replace("−", "-", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static (string Stdout, string Folder) RunTool(string root, params string[] args)
    {
        var configuration = typeof(QuickstartNotebookTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var tool = Path.Combine(root, "src", "Host", "AutoCircuit.Tool", "bin", configuration, "net10.0", "dotnet-autocircuit.dll");
        Assert.True(File.Exists(tool), $"{tool} is missing: build the solution (or this project, which builds the tool).");
        var folder = Path.Combine(Directory.CreateTempSubdirectory("ac-notebook-").FullName, "run");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { tool }.Concat(args).Concat(["--out", folder]))
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet-autocircuit {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
        return (stdout.Result, folder);
    }

    [GeneratedRegex(@"^\| (\d+) \| ([^|]+?) \| ([^|]+?) \| ([^|]+?) \|\s*$", RegexOptions.Multiline)]
    private static partial Regex MarkdownRow();

    [GeneratedRegex(@"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>")]
    private static partial Regex HtmlRow4();

    [GeneratedRegex(@"<tr><td>(\d+)</td><td>(\d+)</td><td>([^<]+)</td></tr>")]
    private static partial Regex HtmlRow3();

    [GeneratedRegex(@"autocircuit-quickstart\.html: [1-9]\d{3,} bytes")]
    private static partial Regex ReportLine();
}
