using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Host.Sweeps;
using Json.Schema;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

/// <summary>The Job schema of tools/k8s/fetch-schema.sh (kubernetes-models 4.3.1, strict draft-07), fetched once.</summary>
internal static class K8sJobSchema
{
    private static readonly Lazy<JsonSchema> Loaded = new(() => JsonSchema.FromFile(Path!));

    private static readonly Lazy<(string? Path, string? Reason)> Fetched = new(() =>
    {
        if (RepoTools.Root() is not { } root)
        {
            return (null, "the repository (tools/k8s) is not beside the tests");
        }

        var path = System.IO.Path.Combine(root, "artifacts", "k8s-schema", "job-batch-v1-strict.json");
        if (File.Exists(path))
        {
            return (path, null);
        }

        var (code, _, err) = RepoTools.Run(System.IO.Path.Combine(root, "tools", "k8s", "fetch-schema.sh"), TimeSpan.FromMinutes(3), "--no-check");
        return code == 0 && File.Exists(path) ? (path, null) : (null, RepoTools.Reason(err));
    });

    public static string? Path => Fetched.Value.Path;

    /// <summary>The schema, loaded once (JsonSchema.Net registers its $id globally and refuses a second load).</summary>
    public static JsonSchema Schema => Loaded.Value;

    public static string? SkipReason => Fetched.Value.Reason is { } r ? $"The Kubernetes Job schema is not available: {r}" : null;
}

/// <summary>Skipped, with fetch-schema.sh's one-line reason, when the Job schema cannot be fetched.</summary>
public sealed class K8sSchemaFactAttribute : FactAttribute
{
    public K8sSchemaFactAttribute()
    {
        if (K8sJobSchema.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

public sealed class K8sManifestTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-k8s-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyList<string> Errors(JsonSchema schema, JsonNode manifest)
    {
        using var doc = JsonDocument.Parse(manifest.ToJsonString());
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid
            ? []
            : (result.Details ?? []).Where(d => d.Errors is { Count: > 0 } && !d.EvaluationPath.ToString().EndsWith("/oneOf/1", StringComparison.Ordinal))
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")).DefaultIfEmpty("invalid").ToList();
    }

    [K8sSchemaFact]
    public async Task Sweep_K8sBackend_WritesAnIndexedJobThatValidates_YamlAndJsonAlike()
    {
        var plan = Path.Combine(_dir, "plan.yaml");
        File.WriteAllText(plan, SweepTestKit.MicroPlan + "\n  k8s: {image: \"ghcr.io/x/autocircuit:1.0\", cpu: \"2\", memory: 4Gi, gpus: 1, parallelism: 3}\n");
        var schema = K8sJobSchema.Schema;

        var (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--backend", "k8s", "--cache", Path.Combine(_dir, "cache"), "--json");

        Assert.True(code == 0, stderr);
        var summary = JsonNode.Parse(stdout.TrimEnd().Split('\n')[^1])!;
        Assert.Equal(8, (int)summary["cells"]!);
        var yamlPath = (string)summary["manifest"]!;
        var fromYaml = PlanDocument.ParseYaml(yamlPath, File.ReadAllText(yamlPath))!;
        var fromJson = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(yamlPath, ".json")))!;
        Assert.True(JsonNode.DeepEquals(fromYaml, fromJson), "job.yaml and job.json differ");
        Assert.Empty(Errors(schema, fromYaml));
        var spec = fromYaml["spec"]!;
        Assert.Equal("Indexed", (string?)spec["completionMode"]);
        Assert.Equal(8, (long)spec["completions"]!);
        Assert.Equal(3, (long)spec["parallelism"]!);
        var container = spec["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(["sweep", "/plan/plan.yaml", "--cell", "$(JOB_COMPLETION_INDEX)", "--cache", "/cache"], container["args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal("2", (string?)container["resources"]!["requests"]!["cpu"]);
        Assert.Equal(1, (long)container["resources"]!["limits"]!["nvidia.com/gpu"]!);
        Assert.Contains(spec["template"]!["spec"]!["volumes"]!.AsArray(), v => (string?)v!["persistentVolumeClaim"]?["claimName"] == "autocircuit-cache");
        var configMap = PlanDocument.ParseYaml("cm", File.ReadAllText(Path.Combine(Path.GetDirectoryName(yamlPath)!, "plan-configmap.yaml")))!;
        Assert.Equal(File.ReadAllText(plan), (string?)configMap["data"]!["plan.yaml"]);
    }

    [K8sSchemaFact]
    public void JobSchema_RejectsAMisspeltField_SoTheValidationCanFail()
    {
        var schema = K8sJobSchema.Schema;
        var job = JsonNode.Parse("""{"apiVersion": "batch/v1", "kind": "Job", "spec": {"completionMod": "Indexed", "template": {"spec": {"containers": []}}}}""")!;

        Assert.Contains(Errors(schema, job), e => e.StartsWith("/spec/completionMod", StringComparison.Ordinal));
    }
}
