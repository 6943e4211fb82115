using System.Diagnostics;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace AutoCircuit.Notebooks.Tests;

/// <summary>One executed code cell: its index in the notebook, its source, what it displayed and how long it took.</summary>
/// <param name="Index">The cell's index among all cells.</param>
/// <param name="Code">The cell's source.</param>
/// <param name="Outputs">The displayed values, returned values and standard output, in order.</param>
/// <param name="Elapsed">Wall time.</param>
internal sealed record ExecutedCell(int Index, string Code, IReadOnlyList<InteractiveDocumentOutputElement> Outputs, TimeSpan Elapsed)
{
    /// <summary>Every text/html and text/plain value the cell displayed, in order.</summary>
    public IEnumerable<string> Texts => Outputs.SelectMany(o => o switch
    {
        DisplayElement d => d.Data.Values.Select(v => v?.ToString() ?? string.Empty),
        TextElement t => [t.Text],
        _ => [],
    });
}

/// <summary>
/// Runs a Jupyter notebook's C# cells, in order, in one .NET Interactive C# kernel with the <c>#r "nuget: ..."</c> and
/// <c>#i</c> directives (what the dotnet-interactive tool gives a notebook), headlessly. The first cell that fails stops
/// the run with its error. The outputs are written into the document, which can be saved as the executed notebook.
/// </summary>
internal static class NotebookRunner
{
    /// <summary>Runs <paramref name="path"/>'s code cells with the current directory set to the notebook's folder (as
    /// a notebook front end does, so relative paths in it resolve there).</summary>
    /// <exception cref="InvalidOperationException">A cell failed: its index, its code and the kernel's message.</exception>
    public static async Task<(InteractiveDocument Document, IReadOnlyList<ExecutedCell> Cells)> RunAsync(string path)
    {
        var document = Notebook.Parse(await File.ReadAllTextAsync(path));
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try
        {
            using var kernel = new CSharpKernel().UseNugetDirective((k, references) =>
            {
                k.AddAssemblyReferences(references.SelectMany(r => r.AssemblyPaths));
                return Task.CompletedTask;
            });
            var cells = new List<ExecutedCell>();
            for (var i = 0; i < document.Elements.Count; i++)
            {
                var element = document.Elements[i];
                if (element.KernelName is not ("csharp" or "C#" or null) || string.IsNullOrWhiteSpace(element.Contents))
                {
                    continue;
                }

                var sw = Stopwatch.StartNew();
                var result = await kernel.SendAsync(new SubmitCode(element.Contents));
                var outputs = new List<InteractiveDocumentOutputElement>();
                foreach (var e in result.Events)
                {
                    switch (e)
                    {
                        case DisplayedValueUpdated:
                            break; // progress of package installs
                        case ErrorProduced error:
                            throw new InvalidOperationException($"cell {i} produced an error:\n{element.Contents}\n--- {error.Message}");
                        case DisplayEvent display:
                            outputs.Add(new DisplayElement(display.FormattedValues.ToDictionary(f => f.MimeType, f => (object)f.Value)));
                            break;
                        case CommandFailed failed:
                            throw new InvalidOperationException($"cell {i} failed:\n{element.Contents}\n--- {failed.Message}");
                    }
                }

                element.Outputs.Clear();
                foreach (var o in outputs)
                {
                    element.Outputs.Add(o);
                }

                cells.Add(new ExecutedCell(i, element.Contents, outputs, sw.Elapsed));
            }

            return (document, cells);
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
    }
}
