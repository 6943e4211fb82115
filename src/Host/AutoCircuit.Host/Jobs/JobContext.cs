using System.Globalization;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Graph;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Tasks;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// A job's prepared world (<see cref="JobSetup.Prepare"/>): the device, the model and task, the batched data, the thread
/// policy applied, the patchable model and, once asked for, the results folder. It owns all of them and disposes them
/// in reverse order; a results folder that was not committed disappears with it.
/// </summary>
internal sealed class JobContext : IDisposable
{
    private ResultsDirectory? _results;

    internal JobContext(
        JobRequest request, RunEnvironment environment, DateTimeOffset started, Device device, PreparedTask prepared, TaskData data,
        int threads, PatchableModel model, ResultsDirectory? results = null)
    {
        _results = results;
        Request = request;
        Environment = environment;
        Started = started;
        Device = device;
        Prepared = prepared;
        Data = data;
        Threads = threads;
        Model = model;
    }

    /// <summary>What the job was asked to work on.</summary>
    public JobRequest Request { get; }

    /// <summary>Where the job writes its tables and logs; its progress and cancellation.</summary>
    public RunEnvironment Environment { get; }

    /// <summary>When the job started (before the model was loaded).</summary>
    public DateTimeOffset Started { get; }

    /// <summary>The device everything runs on.</summary>
    public Device Device { get; }

    /// <summary>The model, task, dataset and resolved data options.</summary>
    public PreparedTask Prepared { get; }

    /// <summary>The model as loaded.</summary>
    public LoadedModel Loaded => Prepared.Loaded;

    /// <summary>The train and test batches.</summary>
    public TaskData Data { get; }

    /// <summary>The libtorch intra-op threads in use.</summary>
    public int Threads { get; }

    /// <summary>The model wrapped for patching.</summary>
    public PatchableModel Model { get; }

    /// <summary>The model's graph.</summary>
    public ModelGraph Graph => Model.Graph;

    /// <summary>
    /// The results folder: <see cref="JobRequest.Out"/>, else <c>./autocircuit-results/&lt;prefix&gt;&lt;timestamp&gt;</c>;
    /// created on the first call (refusing a folder that is not empty), written atomically by
    /// <see cref="ResultsDirectory.Commit"/>.
    /// </summary>
    /// <exception cref="AutoCircuitException">The folder exists and is not empty, another run holds it, or it cannot be
    /// written.</exception>
    public ResultsDirectory Results(string defaultPrefix = "") =>
        _results ??= new ResultsDirectory(
            Request.Out ?? Path.Combine(
                "autocircuit-results",
                defaultPrefix + Started.ToLocalTime().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)),
            line => Environment.Error.WriteLine(line));

    /// <summary>The task's known circuit in this graph, or <c>null</c>; a circuit that does not fit is a warning on stderr.</summary>
    public IReadOnlySet<Edge>? TaskKnownEdges()
    {
        var edges = Prepared.KnownEdges(Graph, out var warning);
        if (warning is not null)
        {
            Environment.Error.WriteLine($"warning: {warning}");
        }

        return edges;
    }

    /// <summary>The <c>"model"</c> object of the job's JSON file.</summary>
    public ModelInfo ModelInfo() => new() { Spec = Loaded.Name, Description = Loaded.Model.Description, HubCommit = Loaded.HubCommit };

    /// <summary>The <c>"performance"</c> object of the job's JSON file.</summary>
    public PerformanceInfo PerformanceInfo() => new()
    {
        Threads = Threads,
        MaxPatchMemoryBytes = Request.Performance.MaxPatchMemoryBytes,
        PatchBufferDtype = Request.Performance.BufferDType?.ToString().ToLowerInvariant(),
    };

    /// <summary>The <c>"data"</c> object of the job's JSON file.</summary>
    public DataInfo DataInfo() => Prepared.DataInfo(Data);

    /// <summary>When the job started, as written in its JSON file.</summary>
    public string StartedUtc => Started.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Now, as written in the job's JSON file (<c>finished_utc</c>).</summary>
    public static string NowUtc => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public void Dispose()
    {
        _results?.Dispose();
        Model.Dispose();
        Data.Dispose();
        Prepared.Dispose();
    }
}
