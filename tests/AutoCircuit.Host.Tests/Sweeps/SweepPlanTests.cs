using AutoCircuit.Engine;
using AutoCircuit.Host.Sweeps;
using AutoCircuit.Patching;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

public sealed class SweepPlanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Yaml = """
        # a comment
        models: [micro]
        tasks: micro
        algorithms:
          - activation-magnitude
          - "mask-gradient:grad-function=prob"
        ablations: [resample, zero]
        patch_types: [edge, tree]
        seeds: [1, 2]
        exclude:
          - {algorithm: mask-gradient, patch_type: tree}
        protocol: {batch_size: 4, edges: "0,1,2", reverse: false}
        resources:
          slurm: {cpus_per_task: 2, mem: 4G, time: "01:00:00", partition: debug, max_parallel: 3, retries: 1}
          k8s: {image: "registry/ac:1", cpu: 2}
        """;

    private const string Json = """
        {"models": ["micro"], "tasks": ["micro"],
         "algorithms": ["activation-magnitude", "mask-gradient:grad-function=prob"],
         "ablations": ["resample", "zero"], "patch_types": ["edge", "tree"], "seeds": [1, 2],
         "exclude": [{"algorithm": "mask-gradient", "patch_type": "tree"}],
         "protocol": {"batch_size": 4, "edges": "0,1,2", "reverse": false},
         "resources": {"slurm": {"cpus_per_task": 2, "mem": "4G", "time": "01:00:00", "partition": "debug", "max_parallel": 3, "retries": 1},
                       "k8s": {"image": "registry/ac:1", "cpu": "2"}}}
        """;

    [Fact]
    public void Load_YamlAndJson_ExpandToTheSameCellsInAxisOrder()
    {
        var yaml = SweepPlan.Load(Write("plan.yaml", Yaml));
        var json = SweepPlan.Load(Write("plan.json", Json));

        var a = yaml.Cells();
        var b = json.Cells();

        // 2 algorithms x 2 ablations x 2 patch types x 2 seeds = 16, less mask-gradient's 4 tree cells.
        Assert.Equal(12, a.Count);
        Assert.Equal(a.Select(c => c with { Index = 0 }), b.Select(c => c with { Index = 0 }));
        Assert.Equal(Enumerable.Range(0, 12), a.Select(c => c.Index));
        Assert.Equal(("activation-magnitude", AblationType.Resample, PatchType.EdgePatch, 1L), (a[0].Algorithm, a[0].Ablation, a[0].PatchType, a[0].Seed));
        Assert.Equal(2L, a[1].Seed);
        Assert.Equal(PatchType.TreePatch, a[2].PatchType);
        Assert.DoesNotContain(a, c => c.Algorithm.StartsWith("mask-gradient", StringComparison.Ordinal) && c.PatchType == PatchType.TreePatch);
        Assert.Equal(("01:00:00", "4G", 2, 3, 1), (yaml.Resources.Slurm.Time, yaml.Resources.Slurm.Mem, yaml.Resources.Slurm.CpusPerTask,
            yaml.Resources.Slurm.MaxParallel, yaml.Resources.Slurm.Retries));
        Assert.Equal("2", yaml.Resources.K8s.Cpu);
        Assert.Equal("0,1,2", yaml.Protocol.Edges);
        Assert.Equal(4, json.Protocol.BatchSize);
    }

    [Fact]
    public void Load_RelativeDataset_ResolvesAgainstThePlanFolder()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "data"));
        File.WriteAllText(Path.Combine(_dir, "data", "d.json"), "{}");

        var plan = SweepPlan.Load(Write("p.yaml", "models: [micro]\ndatasets: [data/d.json]\nalgorithms: [random]\n"));

        Assert.Equal(Path.Combine(_dir, "data", "d.json"), plan.Cells().Single().Data.Dataset);
    }

    [Theory]
    [InlineData("algorithm: [random]\n", "unknown key 'algorithm'")]
    [InlineData("seeds: [1, two]\n", "seeds: item 1: expected an integer, found the string \"two\"")]
    [InlineData("ablations: [resample, mean]\n", "ablations: ablation mean: unknown ablation type")]
    [InlineData("patch_types: [edge, edge]\n", "patch_types: 'edge' is listed twice")]
    [InlineData("tasks: [micro]\ndatasets: [x.json]\n", "datasets: give tasks or datasets, not both")]
    [InlineData("resources: {slurm: {cpus: 2}}\n", "resources.slurm: unknown key 'cpus'")]
    [InlineData("protocol: {batch_size: 0}\n", "protocol.batch_size: expected an integer of at least 1, found the number 0")]
    [InlineData("exclude: [{algoritm: acdc}]\n", "exclude[0]: unknown key 'algoritm'")]
    [InlineData("seeds: [1\n", "not valid YAML")]
    [InlineData("models: [micro]\nmodels: [micro]\n", "bad.yaml:2:1: not valid YAML: Duplicate key")]
    [InlineData("exclude: [{}]\nalgorithms: [random]\n", "exclude: item 0: expected a mapping of axes to values")]
    public void Load_BadPlan_NamesTheFileAndField(string text, string expected)
    {
        var path = Write("bad.yaml", text);

        var e = Assert.Throws<AutoCircuitException>(() => SweepPlan.Load(path));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.yaml", Path.GetFileName(e.Message.Split(':')[0]), StringComparison.Ordinal);
        Assert.Equal(ExitCode.UsageError, e.ExitCode);
    }

    [Fact]
    public void Load_QuotedNumber_StaysAString_PlainNumberIsANumber()
    {
        var plan = SweepPlan.Load(Write("q.yaml", "seeds: [7]\nresources: {k8s: {memory: \"512\", gpus: 1}}\n"));

        Assert.Equal([7L], plan.Seeds);
        Assert.Equal("512", plan.Resources.K8s.Memory);
        Assert.Equal(1, plan.Resources.K8s.Gpus);
    }

    [Fact]
    public void ArrayList_Indices_AreCompressedToSlurmRanges()
    {
        Assert.Equal("0-3,5,7-9", SlurmBackend.ArrayList([9, 0, 1, 2, 3, 5, 7, 8]));
        Assert.Equal("4", SlurmBackend.ArrayList([4]));
    }
}
