using System.Text.Json;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// What a worker process is asked to do, written as JSON into the run's staging folder: prepare the same job (same
/// model, data, split, seed, device and plugins, so the same train batches), run one algorithm spec, and write its
/// scores (safetensors) and its outcome (JSON) next to the job file.
/// </summary>
/// <param name="Job">The run's job request (its results folder and command line are not used).</param>
/// <param name="Spec">The algorithm spec.</param>
/// <param name="ScoresPath">Where the scores go (safetensors, one tensor per destination module).</param>
/// <param name="OutcomePath">Where the outcome goes (<see cref="WorkerOutcome"/> as JSON).</param>
internal sealed record WorkerJob(JobRequest Job, string Spec, string ScoresPath, string OutcomePath)
{
    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this));

    public static WorkerJob Read(string path) =>
        JsonSerializer.Deserialize<WorkerJob>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty worker job.");
}

/// <summary>How the algorithm ended in the worker.</summary>
/// <param name="Error">Why it failed, or <c>null</c> when the scores were written.</param>
/// <param name="Seconds">The algorithm's wall time.</param>
internal sealed record WorkerOutcome(string? Error, double Seconds)
{
    public void Write(string path)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this));
        File.Move(tmp, path, overwrite: true);
    }

    public static WorkerOutcome? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<WorkerOutcome>(File.ReadAllText(path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
