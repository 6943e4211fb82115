using Microsoft.DotNet.Interactive.Formatting;

namespace AutoCircuit;

/// <summary>
/// .NET Interactive (Polyglot / Jupyter) display of the facade's results: after <see cref="Register"/>, a cell whose
/// value is a <see cref="Model"/> shows a small table (model, network, task, prompts, device),
/// <see cref="AlgorithmScores"/> shows a table of the top edges and an SVG diagram of the top circuit, and
/// <see cref="CircuitSweep"/> an SVG chart of the faithfulness curve and a table of the circuit sizes.
/// </summary>
public static class Notebook
{
    /// <summary>The MIME type of the renderings.</summary>
    public const string MimeType = "text/html";

    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>Registers the HTML formatters with .NET Interactive's <c>Formatter</c> (once; later calls do nothing).</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            Formatter.Register<Model>((model, writer) => writer.Write(model.ToHtml()), MimeType);
            Formatter.Register<AlgorithmScores>((scores, writer) => writer.Write(scores.ToHtml()), MimeType);
            Formatter.Register<CircuitSweep>((sweep, writer) => writer.Write(sweep.ToHtml()), MimeType);
            _registered = true;
        }
    }
}
