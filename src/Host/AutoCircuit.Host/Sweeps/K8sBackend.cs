using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// <c>--backend k8s</c>: writes an Indexed Job (<c>completionMode: Indexed</c>, one completion index per cell, the pod
/// running <c>sweep /plan/&lt;file&gt; --cell $(JOB_COMPLETION_INDEX) --cache /cache</c>), the ConfigMap holding the plan,
/// and the Job as JSON too, into <c>sweeps/&lt;id&gt;/k8s/</c> for <c>kubectl apply -f</c>. The cache is a
/// ReadWriteMany PersistentVolumeClaim (<c>resources.k8s.cache_claim</c>) mounted at <c>/cache</c>; paths in the plan
/// must be valid inside the container (e.g. on that volume). Nothing is applied here: there may be no cluster.
/// </summary>
internal static class K8sBackend
{
    public const string CacheMount = "/cache";

    public const string PlanMount = "/plan";

    public static SweepSummary Run(SweepSession session, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(env);
        session.Cache.EnsureLayout();
        session.WriteIndex(session.ReadIndex());
        var before = session.CompleteCells(env.Error);
        var (jobYaml, _, configMap) = Write(session);
        session.RecordSubmission("k8s", JobName(session), Enumerable.Range(0, session.Cells.Count).ToList(), 1);
        env.Error.WriteLine($"sweep: wrote {jobYaml} and {configMap}; apply with: kubectl apply -f {configMap} -f {jobYaml}");
        env.Error.WriteLine($"        (the cache is the PersistentVolumeClaim '{session.Plan.Resources.K8s.CacheClaim}' at {CacheMount}; " +
                            $"run 'sweep status' or 'compare --sweep' on a copy of it)");
        return new SweepSummary
        {
            Cells = session.Cells.Count,
            Computed = 0,
            Cached = before.Count(b => b),
            Failed = 0,
            Submitted = session.Cells.Count - before.Count(b => b),
            Manifest = jobYaml,
        };
    }

    public static string JobName(SweepSession session) => $"autocircuit-sweep-{session.Id[..12]}";

    /// <summary>Writes <c>k8s/job.yaml</c>, <c>k8s/job.json</c> and <c>k8s/plan-configmap.yaml</c>; returns their paths.</summary>
    public static (string JobYaml, string JobJson, string ConfigMap) Write(SweepSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var dir = Path.Combine(session.Dir, "k8s");
        Directory.CreateDirectory(dir);
        var job = Job(session);
        var yaml = Path.Combine(dir, "job.yaml");
        var json = Path.Combine(dir, "job.json");
        var config = Path.Combine(dir, "plan-configmap.yaml");
        SweepCache.WriteAtomically(yaml, YamlWriter.Write(job,
            $"AutoCircuit sweep {session.Id}: {session.Cells.Count} cells of {session.Plan.Path}\n" +
            "kubectl apply -f plan-configmap.yaml -f job.yaml (the cache volume's PersistentVolumeClaim must exist)"));
        SweepCache.WriteAtomically(json, job.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        SweepCache.WriteAtomically(config, YamlWriter.Write(ConfigMap(session)));
        return (yaml, json, config);
    }

    /// <summary>The batch/v1 Job.</summary>
    public static JsonObject Job(SweepSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var r = session.Plan.Resources.K8s;
        var name = JobName(session);
        var labels = new JsonObject
        {
            ["app.kubernetes.io/name"] = "autocircuit",
            ["app.kubernetes.io/component"] = "sweep",
            ["autocircuit/sweep"] = session.Id,
        };
        var command = session.Plan.Resources.Command is { Count: > 0 } c ? c : ["dotnet", "autocircuit"];
        var requests = new JsonObject { ["cpu"] = r.Cpu, ["memory"] = r.Memory };
        var limits = new JsonObject { ["cpu"] = r.Cpu, ["memory"] = r.MemoryLimit ?? r.Memory };
        if (r.Gpus > 0)
        {
            limits["nvidia.com/gpu"] = r.Gpus;
        }

        var threads = int.TryParse(r.Cpu, NumberStyles.None, CultureInfo.InvariantCulture, out var cpus) && cpus > 0 ? cpus : 1;
        return new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = r.Namespace,
                ["labels"] = labels.DeepClone(),
                ["annotations"] = new JsonObject
                {
                    ["autocircuit/plan"] = Path.GetFileName(session.Plan.Path),
                    ["autocircuit/cells"] = session.Cells.Count.ToString(CultureInfo.InvariantCulture),
                },
            },
            ["spec"] = new JsonObject
            {
                ["completionMode"] = "Indexed",
                ["completions"] = session.Cells.Count,
                ["parallelism"] = Math.Min(r.Parallelism, session.Cells.Count),
                ["backoffLimit"] = r.BackoffLimit ?? Math.Max(6, 2 * session.Cells.Count),
                ["ttlSecondsAfterFinished"] = 86400,
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = labels.DeepClone() },
                    ["spec"] = new JsonObject
                    {
                        ["restartPolicy"] = "Never",
                        ["containers"] = new JsonArray(new JsonObject
                        {
                            ["name"] = "cell",
                            ["image"] = r.Image,
                            ["imagePullPolicy"] = "IfNotPresent",
                            ["command"] = new JsonArray(command.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()),
                            ["args"] = new JsonArray(
                                "sweep", $"{PlanMount}/{Path.GetFileName(session.Plan.Path)}", "--cell", "$(JOB_COMPLETION_INDEX)",
                                "--cache", CacheMount),
                            ["env"] = new JsonArray(
                                new JsonObject
                                {
                                    ["name"] = "JOB_COMPLETION_INDEX",
                                    ["valueFrom"] = new JsonObject
                                    {
                                        ["fieldRef"] = new JsonObject
                                        {
                                            ["fieldPath"] = "metadata.annotations['batch.kubernetes.io/job-completion-index']",
                                        },
                                    },
                                },
                                new JsonObject { ["name"] = "AUTOCIRCUIT_THREADS", ["value"] = threads.ToString(CultureInfo.InvariantCulture) },
                                new JsonObject { ["name"] = "DOTNET_CLI_TELEMETRY_OPTOUT", ["value"] = "1" }),
                            ["resources"] = new JsonObject { ["requests"] = requests, ["limits"] = limits },
                            ["volumeMounts"] = new JsonArray(
                                new JsonObject { ["name"] = "cache", ["mountPath"] = CacheMount },
                                new JsonObject { ["name"] = "plan", ["mountPath"] = PlanMount, ["readOnly"] = true }),
                        }),
                        ["volumes"] = new JsonArray(
                            new JsonObject { ["name"] = "cache", ["persistentVolumeClaim"] = new JsonObject { ["claimName"] = r.CacheClaim } },
                            new JsonObject { ["name"] = "plan", ["configMap"] = new JsonObject { ["name"] = name + "-plan" } }),
                    },
                },
            },
        };
    }

    private static JsonObject ConfigMap(SweepSession session) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = JobName(session) + "-plan", ["namespace"] = session.Plan.Resources.K8s.Namespace },
        ["data"] = new JsonObject { [Path.GetFileName(session.Plan.Path)] = File.ReadAllText(session.Plan.Path) },
    };
}
