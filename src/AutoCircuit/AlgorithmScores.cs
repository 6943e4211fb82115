using System.Globalization;
using System.Net;
using System.Text;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Reports;
using AutoCircuit.Scores;

namespace AutoCircuit;

/// <summary>
/// One algorithm's scores, as <see cref="Algorithm.Run"/> returns them: the engine's <see cref="PruneScores"/> (one
/// tensor per destination module, on the CPU) with what produced them. In a notebook (after
/// <see cref="Notebook.Register"/>) it shows as a table of its top edges and a diagram of its top circuit.
/// </summary>
public sealed class AlgorithmScores : IDisposable
{
    internal AlgorithmScores(
        string key, string name, string spec, IReadOnlyList<KeyValuePair<string, object?>> options, PruneScores scores, TimeSpan elapsed)
    {
        Key = key;
        Name = name;
        Spec = spec;
        Options = options;
        Scores = scores;
        Elapsed = elapsed;
    }

    /// <summary>The algorithm's key (<c>mask-gradient</c>).</summary>
    public string Key { get; }

    /// <summary>The algorithm's display name.</summary>
    public string Name { get; }

    /// <summary>The spec it was run with (<c>key:name=value,...</c>).</summary>
    public string Spec { get; }

    /// <summary>Every option's value, defaults included.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Options { get; }

    /// <summary>The scores (float32, CPU): <c>Scores["blocks.1.hook_q_input"]</c> is a destination module's tensor.</summary>
    public PruneScores Scores { get; }

    /// <summary>Wall time of the algorithm.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The graph the scores are for.</summary>
    public ModelGraph Graph => Scores.Graph;

    /// <summary>The <paramref name="count"/> edges of largest |score|, largest first (ties in the graph's order).</summary>
    public IReadOnlyList<(Edge Edge, float Score)> Top(int count = 10) => Scores.RankedEdges(count);

    /// <summary>
    /// An HTML fragment: a table of the top <paramref name="edges"/> edges and an SVG diagram of the
    /// <paramref name="diagramEdges"/> edges of largest |score| (what a notebook shows).
    /// </summary>
    public string ToHtml(int edges = 10, int diagramEdges = 30)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"autocircuit-scores\"><p><b>{Html.Text(Key)}</b> ({Html.Text(Name)}): ");
        sb.Append(CultureInfo.InvariantCulture, $"{Scores.EdgeCount} edges scored in {Elapsed.TotalSeconds:0.###} s</p>");
        sb.Append("<table><thead><tr><th>rank</th><th>edge</th><th>position</th><th>score</th></tr></thead><tbody>");
        var rank = 1;
        foreach (var (edge, score) in Top(edges))
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{rank++}</td><td>{Html.Text(edge.Name)}</td><td>{(edge.SeqIndex is int s ? s.ToString(CultureInfo.InvariantCulture) : "all")}</td><td>{Html.Number(score)}</td></tr>");
        }

        sb.Append("</tbody></table>");
        if (diagramEdges > 0)
        {
            var flat = FlatScores.From(Scores);
            sb.Append(CircuitDiagram.Render(flat, Math.Min(diagramEdges, Scores.EdgeCount), $"{Key}: top {Math.Min(diagramEdges, Scores.EdgeCount)} edges"));
        }

        sb.Append("</div>");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Key}: {Scores.EdgeCount} edges scored in {Elapsed.TotalSeconds:0.###} s; top: " +
        string.Join(", ", Top(3).Select(t => $"{t.Edge.Name} {t.Score.ToString("G4", CultureInfo.InvariantCulture)}"));

    /// <inheritdoc />
    public void Dispose() => Scores.Dispose();
}

/// <summary>HTML text helpers of the facade's renderings.</summary>
internal static class Html
{
    public static string Text(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    public static string Number(double value) => double.IsNaN(value)
        ? "NaN"
        : value.ToString("G6", CultureInfo.InvariantCulture);
}
