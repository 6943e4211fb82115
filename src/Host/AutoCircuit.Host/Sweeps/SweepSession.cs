using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>A plan, its cells with their keys, and the cache they live in: what every sweep command starts from.</summary>
internal sealed class SweepSession
{
    private SweepSession(SweepPlan plan, SweepCache cache, AlgorithmCatalog catalog, IReadOnlyList<SweepCell> cells, IReadOnlyList<string> keys,
        IReadOnlyList<CellIdentity> identities)
    {
        Plan = plan;
        Cache = cache;
        Catalog = catalog;
        Cells = cells;
        Keys = keys;
        Identities = identities;
        var id = SHA256.HashData(Encoding.UTF8.GetBytes(plan.Path + "\n" + string.Join('\n', keys)));
        Id = Convert.ToHexStringLower(id)[..16];
    }

    public SweepPlan Plan { get; }

    public SweepCache Cache { get; }

    public AlgorithmCatalog Catalog { get; }

    public IReadOnlyList<SweepCell> Cells { get; }

    /// <summary>Each cell's key, by index.</summary>
    public IReadOnlyList<string> Keys { get; }

    public IReadOnlyList<CellIdentity> Identities { get; }

    /// <summary>This plan's id in the cache (<c>sweeps/&lt;id&gt;/</c>): the plan's path and its cells' keys.</summary>
    public string Id { get; }

    /// <summary><c>sweeps/&lt;id&gt;/</c>: the index, scheduler scripts and logs of this plan.</summary>
    public string Dir => Path.Combine(Cache.SweepsDir, Id);

    /// <summary>The default cache: AUTOCIRCUIT_SWEEP_CACHE, else <c>autocircuit-cache</c> beside the plan.</summary>
    public static string DefaultCache(string planPath) =>
        Environment.GetEnvironmentVariable("AUTOCIRCUIT_SWEEP_CACHE") is { Length: > 0 } env
            ? env
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(planPath))!, "autocircuit-cache");

    /// <summary>Loads the plan, expands it and computes every cell's key.</summary>
    /// <exception cref="AutoCircuitException">A bad plan, an unknown algorithm or option, an unreadable model or dataset.</exception>
    public static SweepSession Open(string planPath, string? cacheDir, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var plan = SweepPlan.Load(planPath);
        var catalog = Jobs.JobSetup.Catalog(new Jobs.JobRequest { Plugins = PluginSearchPath.FromEnvironment([]) }, env);
        var cells = plan.Cells();
        if (cells.Count == 0)
        {
            throw new AutoCircuitException($"{planPath}: the plan has no cells (every combination is excluded).");
        }

        var keyer = new CellKey(catalog);
        var computed = cells.Select(c => keyer.Compute(plan, c)).ToList();
        var duplicate = computed.GroupBy(k => k.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            var same = computed.Select((k, i) => (k.Key, i)).Where(t => t.Key == duplicate.Key).Select(t => cells[t.i].Describe());
            throw new AutoCircuitException($"{planPath}: two cells are the same computation (e.g. an algorithm listed twice with equal " +
                                           $"options): {string.Join("; ", same)}.");
        }

        var cache = new SweepCache(cacheDir ?? DefaultCache(planPath));
        return new SweepSession(plan, cache, catalog, cells, computed.Select(k => k.Key).ToList(), computed.Select(k => k.Identity).ToList());
    }

    /// <summary>The cell with index <paramref name="index"/>.</summary>
    /// <exception cref="AutoCircuitException">Out of range.</exception>
    public SweepCell Cell(int index) =>
        index >= 0 && index < Cells.Count
            ? Cells[index]
            : throw new AutoCircuitException($"--cell {index}: the plan has cells 0..{Cells.Count - 1}.");

    /// <summary>Which cells are complete in the cache now (damaged ones are reported, moved aside and count as missing).</summary>
    public bool[] CompleteCells(TextWriter? log = null)
    {
        var done = new bool[Cells.Count];
        for (var i = 0; i < Cells.Count; i++)
        {
            var (complete, problem) = Cache.Verify(Keys[i]);
            if (problem is not null)
            {
                log?.WriteLine($"cell {i}: cached folder {Cache.CellPath(Keys[i])} is damaged ({problem}); it will be redone.");
                Cache.Discard(Keys[i]);
            }

            done[i] = complete;
        }

        return done;
    }

    /// <summary>The index file, or a fresh one.</summary>
    public SweepIndexFile ReadIndex()
    {
        var path = Path.Combine(Dir, "index.json");
        SweepIndexFile? existing = null;
        if (File.Exists(path))
        {
            try
            {
                existing = JsonSerializer.Deserialize(File.ReadAllBytes(path), SweepJsonContext.Default.SweepIndexFile);
            }
            catch (JsonException)
            {
                existing = null;
            }
        }

        return new SweepIndexFile
        {
            Plan = Plan.Path,
            PlanSha256 = Plan.FileHash,
            Tool = CellKey.ToolVersion,
            Cells = Cells.Select((c, i) => new SweepIndexCell { Index = i, Key = Keys[i], Description = c.Describe() }).ToList(),
            Submissions = existing?.Submissions ?? [],
        };
    }

    /// <summary>Writes <c>sweeps/&lt;id&gt;/index.json</c> atomically.</summary>
    public void WriteIndex(SweepIndexFile index)
    {
        Directory.CreateDirectory(Dir);
        SweepCache.WriteAtomically(Path.Combine(Dir, "index.json"), JsonSerializer.Serialize(index, SweepJsonContext.Default.SweepIndexFile));
    }

    /// <summary>Records a scheduler submission in the index.</summary>
    public void RecordSubmission(string backend, string job, IReadOnlyList<int> cells, int attempt)
    {
        var index = ReadIndex();
        WriteIndex(index with
        {
            Submissions = [.. index.Submissions, new SweepSubmission
            {
                Backend = backend,
                Job = job,
                Cells = cells,
                Attempt = attempt,
                SubmittedUtc = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            }],
        });
    }

    /// <summary>The summary line of <c>--json</c>, in the documented spelling.</summary>
    public static string SummaryLine(SweepSummary summary) =>
        JsonSerializer.Serialize(summary, SweepJsonContext.Compact.SweepSummary).Replace("\":", "\": ", StringComparison.Ordinal)
            .Replace(",\"", ", \"", StringComparison.Ordinal);

    /// <summary>Writes a record through the sweep context.</summary>
    public static void Write<T>(string path, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> contract) =>
        JsonOutput.Write(path, value, contract);
}
