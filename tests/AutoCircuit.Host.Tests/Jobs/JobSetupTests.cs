using AutoCircuit.Engine;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Tasks;
using Xunit;

namespace AutoCircuit.Host.Tests.Jobs;

/// <summary>The one setup path of run, compare and evaluate (and a sweep's cells): what it prepares and what it owns.</summary>
[Collection(nameof(SeededCollection))]
public sealed class JobSetupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-job-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RunEnvironment Quiet(StringWriter error) => RunEnvironment.Plain(TextWriter.Null, error);

    [Fact]
    public void Prepare_MicroTask_HandsOverModelDataAndGraph()
    {
        using var error = new StringWriter();
        var request = new JobRequest { Task = "micro", Device = "cpu", Data = new DataArguments(BatchSize: 2, TrainSize: 4, TestSize: 2) };

        using var context = JobSetup.Prepare(request, Quiet(error));

        Assert.Equal("micro", context.Loaded.Name);
        Assert.Equal(13, context.Graph.EdgeCount);
        Assert.True(context.Graph.IsFactorized);
        Assert.Equal((2, 1), (context.Data.Train.Count, context.Data.Test.Count));
        Assert.Equal("cpu", context.Device.ToString());
        Assert.Equal(context.Data.TrainPromptIndices, context.DataInfo().TrainPrompts);
        Assert.Equal("micro", context.DataInfo().Task);
    }

    [Fact]
    public void Prepare_CellsOfOneRequest_DifferOnlyWhereTheCellsDo()
    {
        using var error = new StringWriter();
        var request = new JobRequest { Task = "micro", Device = "cpu", Data = new DataArguments(BatchSize: 2, TrainSize: 4, TestSize: 2) };

        using var factorized = JobSetup.Prepare(request, Quiet(error));
        using var residual = JobSetup.Prepare(request with { Factorized = false }, Quiet(error));

        Assert.True(factorized.Graph.IsFactorized);
        Assert.False(residual.Graph.IsFactorized);
        Assert.True(residual.Graph.EdgeCount < factorized.Graph.EdgeCount);
        Assert.Equal(factorized.Data.TrainPromptIndices, residual.Data.TrainPromptIndices);
    }

    [Fact]
    public void Results_NotCommitted_DisappearsWithTheContext()
    {
        using var error = new StringWriter();
        var outDir = Path.Combine(_dir, "out");
        var request = new JobRequest { Task = "micro", Device = "cpu", Out = outDir };
        string temp;

        using (var context = JobSetup.Prepare(request, Quiet(error)))
        {
            var results = context.Results();
            Assert.Same(results, context.Results("ignored-"));
            File.WriteAllText(results.PathFor("x.txt"), "x");
            temp = results.TempPath;
            Assert.True(Directory.Exists(temp));
        }

        Assert.False(Directory.Exists(temp));
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public void Prepare_TaskAndDataset_FailsBeforeLoadingAnything()
    {
        using var error = new StringWriter();
        var request = new JobRequest { Task = "micro", Dataset = Path.Combine(_dir, "none.json"), Device = "cpu" };

        var e = Assert.Throws<AutoCircuitException>(() => JobSetup.Prepare(request, Quiet(error)));

        Assert.Contains("--task and --dataset exclude each other", e.Message, StringComparison.Ordinal);
    }
}
