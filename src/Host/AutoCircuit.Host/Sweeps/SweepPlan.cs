using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Sweeps;

/// <summary>Where a cell's prompts come from: a built-in task or a dataset file (a full path).</summary>
/// <param name="Task">A task key, or <c>null</c>.</param>
/// <param name="Dataset">A dataset file, or <c>null</c>.</param>
internal sealed record SweepData(string? Task, string? Dataset)
{
    /// <summary>The task key or the dataset's file name, for tables.</summary>
    public string Label => Task ?? Path.GetFileName(Dataset) ?? "default";
}

/// <summary>The evaluation protocol and data options shared by every cell (the plan's <c>protocol</c>).</summary>
internal sealed record SweepProtocol
{
    /// <summary><c>--edges</c>; <c>null</c>: auto-circuit's default sizes.</summary>
    public string? Edges { get; init; }

    public bool Reverse { get; init; }

    public bool Factorized { get; init; } = true;

    public bool SeparateQkv { get; init; } = true;

    public int? BatchSize { get; init; }

    public int? TrainSize { get; init; }

    public int? TestSize { get; init; }

    public bool Shuffle { get; init; } = true;

    public bool? TokenPositions { get; init; }

    public bool? PrependBos { get; init; }

    public bool? TailDivergence { get; init; }

    /// <summary><c>cpu</c> by default: cells of one sweep must agree bit for bit wherever they ran.</summary>
    public string Device { get; init; } = "cpu";
}

/// <summary><c>resources.local</c>.</summary>
internal sealed record LocalResources
{
    /// <summary>Worker processes; <c>null</c>: cores ÷ <see cref="Threads"/>.</summary>
    public int? Workers { get; init; }

    /// <summary>libtorch threads per cell (AUTOCIRCUIT_THREADS of each worker).</summary>
    public int Threads { get; init; } = 1;
}

/// <summary><c>resources.slurm</c>: what each array task asks for, and how failures are retried.</summary>
internal sealed record SlurmResources
{
    public string? Partition { get; init; }

    public string? Account { get; init; }

    public int CpusPerTask { get; init; } = 1;

    /// <summary><c>--mem</c>, e.g. <c>4G</c>.</summary>
    public string? Mem { get; init; }

    /// <summary><c>--time</c>, e.g. <c>01:00:00</c>.</summary>
    public string? Time { get; init; }

    /// <summary><c>--gres</c>, e.g. <c>gpu:1</c>.</summary>
    public string? Gres { get; init; }

    /// <summary>Array tasks running at once (<c>%N</c>); <c>null</c>: no limit.</summary>
    public int? MaxParallel { get; init; }

    /// <summary>How often cells still missing after an array finished are resubmitted.</summary>
    public int Retries { get; init; } = 2;

    /// <summary>More <c>#SBATCH</c> options, e.g. <c>--qos=short</c>.</summary>
    public IReadOnlyList<string> Options { get; init; } = [];

    /// <summary>Shell lines run before the cell, e.g. <c>module load dotnet</c>.</summary>
    public IReadOnlyList<string> Setup { get; init; } = [];
}

/// <summary><c>resources.k8s</c>: the Indexed Job's pod template.</summary>
internal sealed record K8sResources
{
    public string Image { get; init; } = "autocircuit:latest";

    public string Namespace { get; init; } = "default";

    public string Cpu { get; init; } = "1";

    public string Memory { get; init; } = "2Gi";

    public string? MemoryLimit { get; init; }

    public int Gpus { get; init; }

    public int Parallelism { get; init; } = 4;

    /// <summary>Pod failures tolerated over the whole job.</summary>
    public int? BackoffLimit { get; init; }

    /// <summary>The PersistentVolumeClaim (ReadWriteMany) holding the cache.</summary>
    public string CacheClaim { get; init; } = "autocircuit-cache";
}

/// <summary>The plan's <c>resources</c>.</summary>
internal sealed record SweepResources
{
    public LocalResources Local { get; init; } = new();

    public SlurmResources Slurm { get; init; } = new();

    public K8sResources K8s { get; init; } = new();

    /// <summary>How workers start the tool, e.g. <c>[dotnet, autocircuit]</c>; <c>null</c>: as this process was started.</summary>
    public IReadOnlyList<string>? Command { get; init; }
}

/// <summary>One rule of the plan's <c>exclude</c>: a cell is left out when it matches every axis the rule names.</summary>
internal sealed record SweepExclusion(IReadOnlyDictionary<string, IReadOnlyList<string>> Axes)
{
    public bool Matches(SweepCell cell) => Axes.All(a => a.Value.Any(v => a.Key switch
    {
        "model" => string.Equals(cell.Model ?? "default", v, StringComparison.Ordinal),
        "task" => string.Equals(cell.Data.Task, v, StringComparison.OrdinalIgnoreCase),
        "dataset" => cell.Data.Dataset is { } d && (d == v || Path.GetFileName(d) == v),
        "algorithm" => cell.Algorithm == v || SweepCell.AlgorithmKeyOf(cell.Algorithm) == v,
        "ablation" => cell.Ablation.ToCliName() == v,
        "patch_type" => EvaluationNames.PatchTypeName(cell.PatchType) == v,
        "seed" => PlanReader.Invariant(cell.Seed) == v,
        _ => false,
    }));
}

/// <summary>
/// A sweep plan (<c>dotnet autocircuit sweep plan.yaml</c>): axes — models × tasks or datasets × algorithms × ablations ×
/// patch types × seeds — less the <c>exclude</c> rules, the <c>protocol</c> every cell shares, and the
/// <c>resources</c> of each backend. <see cref="Cells"/> expands it, always in the same order, so that a cell's index
/// means the same cell to every process that reads the same plan. Relative paths are relative to the plan's folder.
/// </summary>
internal sealed record SweepPlan
{
    /// <summary>The plan's keys, as documented in docs/sweeps.md.</summary>
    public static IReadOnlyList<string> Keys { get; } =
        ["models", "tasks", "datasets", "algorithms", "ablations", "patch_types", "seeds", "protocol", "exclude", "resources"];

    public required string Path { get; init; }

    /// <summary>SHA-256 of the plan file's bytes (hex).</summary>
    public required string FileHash { get; init; }

    /// <summary>Model specs; <c>null</c> entry: the task's (or the default) model.</summary>
    public required IReadOnlyList<string?> Models { get; init; }

    public required IReadOnlyList<SweepData> Data { get; init; }

    /// <summary>Algorithm specs as for <c>-a</c>.</summary>
    public required IReadOnlyList<string> Algorithms { get; init; }

    public required IReadOnlyList<AblationType> Ablations { get; init; }

    public required IReadOnlyList<PatchType> PatchTypes { get; init; }

    public required IReadOnlyList<long> Seeds { get; init; }

    public SweepProtocol Protocol { get; init; } = new();

    public IReadOnlyList<SweepExclusion> Exclude { get; init; } = [];

    public SweepResources Resources { get; init; } = new();

    /// <summary>The cells: every combination of the axes (models outermost, seeds innermost) not excluded, numbered from 0.</summary>
    public IReadOnlyList<SweepCell> Cells()
    {
        var cells = new List<SweepCell>();
        foreach (var model in Models)
        {
            foreach (var data in Data)
            {
                foreach (var algorithm in Algorithms)
                {
                    foreach (var ablation in Ablations)
                    {
                        foreach (var patchType in PatchTypes)
                        {
                            foreach (var seed in Seeds)
                            {
                                var cell = new SweepCell(cells.Count, model, data, algorithm, ablation, patchType, seed);
                                if (!Exclude.Any(e => e.Matches(cell)))
                                {
                                    cells.Add(cell);
                                }
                            }
                        }
                    }
                }
            }
        }

        return cells;
    }

    /// <summary>Reads and checks a plan file.</summary>
    /// <exception cref="AutoCircuitException">Missing file, bad syntax, an unknown key or value (the message names the field).</exception>
    public static SweepPlan Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new AutoCircuitException($"sweep plan {path}: no such file.");
        }

        var bytes = File.ReadAllBytes(full);
        var root = PlanDocument.Parse(path, new System.Text.UTF8Encoding(false).GetString(bytes));
        return FromJson(full, root, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>A plan from its parsed tree; relative paths resolve against <paramref name="path"/>'s folder.</summary>
    public static SweepPlan FromJson(string path, JsonObject root, string fileHash)
    {
        ArgumentNullException.ThrowIfNull(root);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var r = new PlanReader(path, string.Empty, root);
        var models = r.StringList("models")?.Select(m => ResolveModel(folder, m)).ToList() ?? [null];
        var tasks = r.StringList("tasks");
        var datasets = r.StringList("datasets");
        if (tasks is not null && datasets is not null)
        {
            throw r.Error("datasets", "give tasks or datasets, not both (a task brings its own dataset).");
        }

        var data = tasks?.Select(t => new SweepData(t, null)).ToList()
                   ?? datasets?.Select(d => new SweepData(null, Resolve(folder, d))).ToList()
                   ?? [new SweepData(null, null)];
        foreach (var d in data.Where(d => d.Dataset is not null && !File.Exists(d.Dataset)))
        {
            throw r.Error("datasets", $"{d.Dataset}: no such file.");
        }

        var algorithms = r.StringList("algorithms") ?? Jobs.RunJob.DefaultAlgorithms;
        var ablations = r.StringList("ablations")?.Select(a => Parse(r, "ablations", () => EvaluationNames.ParseAblation(a, "ablation"))).ToList()
                        ?? [AblationType.Resample];
        var patchTypes = r.StringList("patch_types")?.Select(p => Parse(r, "patch_types", () => EvaluationNames.ParsePatchType(p, "patch type"))).ToList()
                         ?? [PatchType.EdgePatch];
        var seeds = r.ScalarList("seeds")?.Select((s, i) => s is not null && s.GetValueKind() == JsonValueKind.Number && s.TryGetValue<long>(out var l)
            ? l
            : throw r.Error("seeds", $"item {i}: expected an integer, found {PlanDocument.Kind(s)}.")).ToList() ?? [42L];
        Distinct(r, "models", models.Select(m => m ?? "default"));
        Distinct(r, tasks is not null ? "tasks" : "datasets", data.Select(d => d.Task ?? d.Dataset ?? "default"));
        Distinct(r, "algorithms", algorithms);
        Distinct(r, "ablations", ablations.Select(a => a.ToCliName()));
        Distinct(r, "patch_types", patchTypes.Select(EvaluationNames.PatchTypeName));
        Distinct(r, "seeds", seeds.Select(PlanReader.Invariant));
        foreach (var a in algorithms)
        {
            Parse(r, "algorithms", () => Host.Algorithms.AlgorithmSpec.Parse(a));
        }

        var protocol = ReadProtocol(r.Section("protocol"));
        var exclude = Exclusions(r);
        var resources = ReadResources(r.Section("resources"));
        r.RejectUnknown();
        return new SweepPlan
        {
            Path = System.IO.Path.GetFullPath(path),
            FileHash = fileHash,
            Models = models,
            Data = data,
            Algorithms = algorithms,
            Ablations = ablations,
            PatchTypes = patchTypes,
            Seeds = seeds,
            Protocol = protocol,
            Exclude = exclude,
            Resources = resources,
        };
    }

    private static T Parse<T>(PlanReader r, string key, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (AutoCircuitException e)
        {
            throw r.Error(key, e.Message);
        }
    }

    private static void Distinct(PlanReader r, string key, IEnumerable<string> values)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            if (!seen.Add(v))
            {
                throw r.Error(key, $"'{v}' is listed twice.");
            }
        }
    }

    /// <summary>Built-in names stay names; anything that exists relative to the plan becomes a full path.</summary>
    private static string? ResolveModel(string folder, string spec)
    {
        if (spec is "default")
        {
            return null;
        }

        var candidate = System.IO.Path.Combine(folder, spec);
        return File.Exists(candidate) || Directory.Exists(candidate) ? System.IO.Path.GetFullPath(candidate) : spec;
    }

    private static string Resolve(string folder, string path) => System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, path));

    private static SweepProtocol ReadProtocol(PlanReader? r)
    {
        if (r is null)
        {
            return new SweepProtocol();
        }

        var graph = r.String("graph") ?? "factorized";
        if (graph is not ("factorized" or "residual"))
        {
            throw r.Error("graph", $"expected factorized or residual, found '{graph}'.");
        }

        var edges = r.String("edges");
        if (edges is not null)
        {
            Parse(r, "edges", () => EdgeCountRequest.Parse(edges));
        }

        var p = new SweepProtocol
        {
            Edges = edges,
            Reverse = r.Bool("reverse") ?? false,
            Factorized = graph == "factorized",
            SeparateQkv = r.Bool("separate_qkv") ?? true,
            BatchSize = r.Int("batch_size", 1),
            TrainSize = r.Int("train_size", 0),
            TestSize = r.Int("test_size", 0),
            Shuffle = r.Bool("shuffle") ?? true,
            TokenPositions = r.Bool("token_positions"),
            PrependBos = r.Bool("prepend_bos"),
            TailDivergence = r.Bool("tail_divergence"),
            Device = r.String("device") ?? "cpu",
        };
        r.RejectUnknown();
        return p;
    }

    private static List<SweepExclusion> Exclusions(PlanReader r)
    {
        var node = r.Raw("exclude");
        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray list)
        {
            throw r.Error("exclude", $"expected a list of mappings such as {{algorithm: acdc, model: micro}}, found {PlanDocument.Kind(node)}.");
        }

        var rules = new List<SweepExclusion>();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonObject o || o.Count == 0)
            {
                throw r.Error("exclude", $"item {i}: expected a mapping of axes to values, found {PlanDocument.Kind(list[i])}.");
            }

            var item = new PlanReader(r.File, $"exclude[{i}]", o);
            var axes = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var axis in new[] { "model", "task", "dataset", "algorithm", "ablation", "patch_type", "seed" })
            {
                if (item.StringList(axis) is { } values)
                {
                    axes[axis] = axis switch
                    {
                        "ablation" => values.Select(v => Parse(item, axis, () => EvaluationNames.ParseAblation(v, "ablation")).ToCliName()).ToList(),
                        "patch_type" => values.Select(v => EvaluationNames.PatchTypeName(Parse(item, axis, () => EvaluationNames.ParsePatchType(v, "patch type")))).ToList(),
                        _ => values,
                    };
                }
            }

            item.RejectUnknown();
            rules.Add(new SweepExclusion(axes));
        }

        return rules;
    }

    private static SweepResources ReadResources(PlanReader? r)
    {
        if (r is null)
        {
            return new SweepResources();
        }

        var local = r.Section("local");
        var slurm = r.Section("slurm");
        var k8s = r.Section("k8s");
        var command = r.StringList("command");
        var resources = new SweepResources
        {
            Command = command,
            Local = local is null ? new LocalResources() : new LocalResources
            {
                Workers = local.Int("workers", 1),
                Threads = local.Int("threads", 1) ?? 1,
            },
            Slurm = slurm is null ? new SlurmResources() : new SlurmResources
            {
                Partition = slurm.String("partition"),
                Account = slurm.String("account"),
                CpusPerTask = slurm.Int("cpus_per_task", 1) ?? 1,
                Mem = slurm.String("mem"),
                Time = slurm.String("time"),
                Gres = slurm.String("gres"),
                MaxParallel = slurm.Int("max_parallel", 1),
                Retries = slurm.Int("retries", 0) ?? 2,
                Options = slurm.StringList("options") ?? [],
                Setup = slurm.StringList("setup") ?? [],
            },
            K8s = k8s is null ? new K8sResources() : new K8sResources
            {
                Image = k8s.String("image") ?? "autocircuit:latest",
                Namespace = k8s.String("namespace") ?? "default",
                Cpu = k8s.String("cpu") ?? "1",
                Memory = k8s.String("memory") ?? "2Gi",
                MemoryLimit = k8s.String("memory_limit"),
                Gpus = k8s.Int("gpus", 0) ?? 0,
                Parallelism = k8s.Int("parallelism", 1) ?? 4,
                BackoffLimit = k8s.Int("backoff_limit", 0),
                CacheClaim = k8s.String("cache_claim") ?? "autocircuit-cache",
            },
        };
        local?.RejectUnknown();
        slurm?.RejectUnknown();
        k8s?.RejectUnknown();
        r.RejectUnknown();
        return resources;
    }
}
