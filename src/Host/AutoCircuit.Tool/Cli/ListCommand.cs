using System.CommandLine;
using AutoCircuit.Engine;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Tasks;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit list</c>.</summary>
internal static class ListCommand
{
    internal static readonly Option<string[]> PluginsOption = PluginOptions.Create();

    internal static readonly Option<string?> ModelOption = new("--model", "-m")
    {
        Description = "Instead of the listing: a model's graph sizes (sources, destinations, edges of each graph). A built-in " +
                      "model, a Hugging Face folder (config.json only, no weights read) or a known real config: " +
                      string.Join(", ", GraphSizes.KnownConfigNames) + ".",
        HelpName = "NAME|PATH",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("list", "List the algorithms (key, name, options with defaults, presets), the built-in models and the tasks.")
        {
            PluginsOption, ModelOption,
        };
        command.SetAction(parse => CommandLine.Guard(error, () =>
        {
            if (parse.GetValue(ModelOption) is { } model)
            {
                var (description, graphs) = GraphSizes.Of(model);
                output.WriteLine(description);
                foreach (var g in graphs)
                {
                    output.WriteLine($"  {g.Graph}: {g.Sources} sources, {g.Destinations} destinations, {g.Edges} edges (x seq_len with token positions)");
                }

                return ExitCode.Ok;
            }

            var catalog = AlgorithmCatalog.Load(PluginOptions.Resolve(parse, PluginsOption));
            foreach (var warning in catalog.Warnings)
            {
                error.WriteLine($"warning: {warning}");
            }

            Write(output, catalog);
            return ExitCode.Ok;
        }));
        return command;
    }

    /// <summary>Writes the listing.</summary>
    public static void Write(TextWriter output, AlgorithmCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(catalog);
        output.WriteLine("Algorithms (use with -a KEY or -a KEY:name=value,...):");
        foreach (var entry in catalog.Entries)
        {
            var d = entry.Descriptor;
            var origin = entry.OriginText;
            output.WriteLine();
            output.WriteLine($"  {d.Key}  —  {d.Name}{(d.ShortName != d.Name ? $" ({d.ShortName})" : string.Empty)}  [{origin}]");
            if (d.Description.Length > 0)
            {
                output.WriteLine($"    {d.Description}");
            }

            if (d.RequiresKnownEdges)
            {
                output.WriteLine("    Needs a task with a known circuit.");
            }

            foreach (var o in d.Options)
            {
                var allowed = o.AllowedValues is { Count: > 0 } a ? $"; one of: {string.Join(", ", a)}" : string.Empty;
                var range = (o.Min, o.Max) switch
                {
                    (double min, double max) => $"; {min}..{max}",
                    (double min, null) => $"; >= {min}",
                    (null, double max) => $"; <= {max}",
                    _ => string.Empty,
                };
                output.WriteLine($"    {o.Name}={o.DefaultValue}  ({o.TypeName}{allowed}{range}) {o.Description}");
            }

            foreach (var p in d.Presets)
            {
                output.WriteLine($"    preset \"{p.Name}\": {d.Key}{(p.Options.Length > 0 ? ":" + p.Options : string.Empty)}");
            }
        }

        output.WriteLine();
        output.WriteLine("Models (--model):");
        foreach (var (name, description) in ModelCatalog.BuiltIns)
        {
            output.WriteLine($"  {name}  —  {description}");
        }

        output.WriteLine($"  or a checkpoint: {ModelCatalog.CheckpointHelp}");
        output.WriteLine();
        output.WriteLine("Tasks (--task):");
        foreach (var t in TaskCatalog.All)
        {
            var model = t.DefaultModel is { } m ? $"model {m}" : "needs --model";
            output.WriteLine($"  {t.Key}  —  {t.Description}  [{model}{(t.KnownCircuit is null ? string.Empty : "; known circuit")}]");
        }
    }
}
