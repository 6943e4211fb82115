using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Reports;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Host.Tests.Browser;

/// <summary>
/// A comparison report of two algorithms with made-up scores on a small GPT-2's graph (3 layers of 4 heads), and what
/// the explorer should show of it: each algorithm's top-k edges, computed here from the scores.
/// </summary>
internal sealed class ExplorerPage
{
    public const string A = "mask-gradient";
    public const string B = "acdc";

    public ExplorerPage(int? seqLen = null, IReadOnlyList<string>? seqLabels = null)
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 16,
            Layers = 3,
            Heads = 4,
            DMlp = 32,
            VocabSize = 10,
            ContextLength = 8,
        };
        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        Graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true, seqLen);

        // Distinct |scores| (no ties), signs mixed; B keeps two thirds of A's scores and permutes the rest.
        var n = Graph.EdgeCount;
        var a = new float[n];
        var b = new float[n];
        for (var i = 0; i < n; i++)
        {
            var u = ((i * 7919L) % 1000003) / 1000003.0;
            a[i] = (float)((i % 5 == 0 ? -1 : 1) * (0.001 + u));
        }

        for (var i = 0; i < n; i++)
        {
            b[i] = i % 3 == 0 ? a[(i * 37 + 11) % n] * 1.0001f : a[i];
        }

        ScoresA = FlatScores.FromValues(Graph, a);
        ScoresB = FlatScores.FromValues(Graph, b);
        Known = ScoresA.Order.Take(3).Concat(ScoresA.Order.Skip(40).Take(5)).Select(i => Graph.FlatEdges[i]).ToHashSet();
        var subject = new ComparisonSubject
        {
            ModelSpec = "small-gpt2",
            ModelDescription = "a 3-layer GPT-2 with made-up scores",
            Dataset = "none",
            Graph = Graph,
            SeqLabels = seqLabels,
            KnownEdges = Known,
            KnownCircuitSource = "test",
        };
        Result = new ComparisonResult(
            subject,
            new ComparisonSettings(),
            [
                new ComparedAlgorithm { Label = A, FileStem = A, Key = A, Flat = ScoresA },
                new ComparedAlgorithm { Label = B, FileStem = B, Key = B, Flat = ScoresB },
            ]);
    }

    public ModelGraph Graph { get; }

    public FlatScores ScoresA { get; }

    public FlatScores ScoresB { get; }

    public IReadOnlySet<Edge> Known { get; }

    public ComparisonResult Result { get; }

    /// <summary>The report, written to <paramref name="folder"/>/report.html.</summary>
    public string Write(string folder)
    {
        var path = Path.Combine(folder, "report.html");
        HtmlReport.Write(path, Result, "compare");
        return path;
    }

    /// <summary>The names of an algorithm's top <paramref name="k"/> edges.</summary>
    public IReadOnlySet<string> Top(FlatScores scores, int k) =>
        scores.Order.Take(k).Select(i => Graph.FlatEdges[i].Name).ToHashSet(StringComparer.Ordinal);
}
