using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AutoCircuit.Bench.Outputs;
using AutoCircuit.Host.Outputs;
using Json.Schema;
using Xunit;

namespace AutoCircuit.Host.Tests.Outputs;

/// <summary>The committed schemas (<c>docs/schemas/&lt;stem&gt;.schema.json</c>) and validation of documents against them.</summary>
internal static class SchemaFiles
{
    /// <summary>Every output's schema: the host's files, the bench's JSON and the sweep's files.</summary>
    public static IReadOnlyList<(string Stem, string Title, JsonTypeInfo Contract)> All { get; } =
        [.. OutputSchemas.Files, .. BenchJsonContext.Files, .. AutoCircuit.Host.Sweeps.Outputs.SweepJsonContext.Files];

    /// <summary>The schema <paramref name="stem"/> as its records generate it.</summary>
    public static string Generate(string stem)
    {
        var (_, title, contract) = All.Single(f => f.Stem == stem);
        return OutputSchemas.Generate(contract, title);
    }

    /// <summary><c>docs/schemas</c> of this checkout, found from this source file's path.</summary>
    public static string Directory([CallerFilePath] string sourceFile = "")
    {
        for (var dir = Path.GetDirectoryName(sourceFile); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "AutoCircuit.sln")))
            {
                return Path.Combine(dir, "docs", "schemas");
            }
        }

        Assert.Fail($"Cannot find the repository root above '{sourceFile}' (the schema tests need the source tree).");
        return string.Empty;
    }

    /// <summary>The committed schema's path.</summary>
    public static string PathOf(string stem) => Path.Combine(Directory(), stem + ".schema.json");

    /// <summary>The committed schema.</summary>
    public static JsonSchema Load(string stem)
    {
        var path = PathOf(stem);
        Assert.True(File.Exists(path), $"{path} is missing: run the schema tests with {ApprovedFileAccept}=1 to write it.");
        return JsonSchema.FromText(File.ReadAllText(path));
    }

    /// <summary>The environment variable that lets the drift test (re)write the committed schemas.</summary>
    public const string ApprovedFileAccept = AutoCircuit.Testing.ApprovedFile.AcceptVariable;

    /// <summary>The errors of <paramref name="json"/> against the schema <paramref name="stem"/>, one line each (none: valid).</summary>
    public static IReadOnlyList<string> Errors(string stem, string json)
    {
        using var document = JsonDocument.Parse(json);
        var results = Load(stem).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        var errors = (results.Details ?? [])
            .Where(d => d.Errors is not null)
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"))
            .ToList();
        return errors.Count > 0 ? errors : ["invalid (no details)"];
    }

    /// <summary>Asserts that <paramref name="json"/> is valid against the schema <paramref name="stem"/>.</summary>
    public static void AssertValid(string stem, string json, string what)
    {
        var errors = Errors(stem, json);
        Assert.True(errors.Count == 0, $"{what} does not match {stem}.schema.json:\n" + string.Join("\n", errors.Take(20)));
    }
}
