using System.Text;
using System.Text.Json.Nodes;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Host.Tests.Outputs;

/// <summary>
/// The schemas in <c>docs/schemas/</c> are exactly what the output records generate: a record changed without its
/// schema fails here (schema drift). Run with <c>AUTOCIRCUIT_ACCEPT_SNAPSHOTS=1</c> to regenerate them, then review
/// the diff like code.
/// </summary>
public sealed class OutputSchemaTests
{
    public static TheoryData<string> Stems => [.. SchemaFiles.All.Select(f => f.Stem)];

    [Theory]
    [MemberData(nameof(Stems))]
    public void Schema_Committed_MatchesGeneratedFromRecords(string stem)
    {
        var path = SchemaFiles.PathOf(stem);

        var generated = SchemaFiles.Generate(stem);

        if (Environment.GetEnvironmentVariable(SchemaFiles.ApprovedFileAccept) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, generated, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }

        Assert.True(File.Exists(path), $"{path} is missing; run the schema tests with {SchemaFiles.ApprovedFileAccept}=1 to write it.");
        var committed = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(
            committed == generated,
            $"{path} differs from the schema its records generate (regenerate with {SchemaFiles.ApprovedFileAccept}=1 and review):\n" +
            ApprovedFile.Diff(committed, generated, "committed", "generated"));
    }

    [Fact]
    public void SchemaFolder_HoldsOnlyGeneratedSchemas()
    {
        var expected = SchemaFiles.All.Select(f => f.Stem + ".schema.json").Order(StringComparer.Ordinal);

        var present = Directory.EnumerateFiles(SchemaFiles.Directory(), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(expected, present);
    }

    [Theory]
    [MemberData(nameof(Stems))]
    public void Schema_EveryProperty_HasDescriptionAndRequiredListsOnlyProperties(string stem)
    {
        var schema = JsonNode.Parse(SchemaFiles.Generate(stem))!.AsObject();

        Assert.Equal(OutputSchemas.Dialect, (string?)schema["$schema"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)schema["description"]), $"{stem}: the record has no [Description].");
        var undocumented = new List<string>();
        Walk(schema, "#", undocumented);
        Assert.True(undocumented.Count == 0, $"{stem}: properties without [Description]: {string.Join(", ", undocumented)}");
    }

    [Fact]
    public void RunSchema_FailedAndScoredAlgorithms_AreDistinctShapes()
    {
        var schema = JsonNode.Parse(OutputSchemas.Generate(OutputJsonContext.Default.RunFile, "run.json"))!;

        var shapes = schema["properties"]!["algorithms"]!["items"]!["anyOf"]!.AsArray();

        Assert.Equal(2, shapes.Count);
        Assert.DoesNotContain("files", shapes[0]!["required"]!.AsArray().Select(n => (string?)n));
        Assert.Contains("files", shapes[1]!["required"]!.AsArray().Select(n => (string?)n));
        Assert.All(shapes, s => Assert.False((bool)s!["additionalProperties"]!));
        Assert.Equal(["ok", "failed"], shapes[0]!["properties"]!["status"]!["enum"]!.AsArray().Select(n => (string?)n));
    }

    private static void Walk(JsonNode? node, string path, List<string> undocumented)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["properties"] is JsonObject properties)
                {
                    foreach (var (name, property) in properties)
                    {
                        if (property is not JsonObject p || string.IsNullOrWhiteSpace((string?)p["description"]))
                        {
                            undocumented.Add($"{path}/properties/{name}");
                        }
                    }

                    var required = o["required"]?.AsArray().Select(n => (string?)n) ?? [];
                    Assert.All(required, r => Assert.True(properties.ContainsKey(r!), $"{path}: required '{r}' is not a property"));
                }

                foreach (var (name, child) in o)
                {
                    Walk(child, $"{path}/{name}", undocumented);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    Walk(a[i], $"{path}/{i}", undocumented);
                }

                break;
        }
    }
}
