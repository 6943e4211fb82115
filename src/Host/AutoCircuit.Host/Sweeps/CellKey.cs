using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Sweeps.Outputs;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Toy;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// The content address of a cell: SHA-256 over a canonical JSON of everything that determines its result — the
/// model's bytes, the dataset's bytes (a built-in task: its key, its generator being part of the tool), the algorithm's
/// key and bound options (defaults filled in, so <c>acdc</c> and <c>acdc:tao-exps=...</c> with the default value are
/// the same cell), the graph, data and evaluation options, the seed, the device asked for, and the tool and TorchSharp
/// versions. Not in it: where the cell ran, threads and the memory budget (they change no result beyond float
/// rounding, and sweeps fix the threads per cell), the cell's index (two plans share cells).
/// </summary>
internal sealed class CellKey
{
    /// <summary>Version of the key's recipe: changing what goes into it must change this.</summary>
    public const string Format = "autocircuit-sweep-cell/1";

    private readonly ConcurrentDictionary<string, string> _hashes = new(StringComparer.Ordinal);
    private readonly AlgorithmCatalog _catalog;

    public CellKey(AlgorithmCatalog catalog)
    {
        _catalog = catalog;
    }

    /// <summary>The tool's version as it enters keys.</summary>
    public static string ToolVersion
    {
        get
        {
            var v = ToolVersions.Current(withAbstractions: false);
            return $"{v.Autocircuit}; torchsharp {v.Torchsharp}";
        }
    }

    /// <summary>The cell's identity (what is hashed) and its key (32 hex digits).</summary>
    /// <exception cref="Engine.AutoCircuitException">Unknown algorithm or bad options; unreadable model or dataset files.</exception>
    public (string Key, CellIdentity Identity) Compute(SweepPlan plan, SweepCell cell)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(cell);
        var (entry, configured) = _catalog.Create(AlgorithmSpec.Parse(cell.Algorithm));
        var p = plan.Protocol;
        var options = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (name, value) in OptionValues.ToJson(configured.Options))
        {
            options[name] = value?.DeepClone();
        }

        var model = cell.Model ?? DefaultModel(cell.Data);
        var identity = new CellIdentity
        {
            Format = Format,
            Tool = ToolVersion,
            // A checkpoint is known by its content only, so moving it (or mounting it elsewhere) keeps its cells.
            Model = new CellIdentityModel
            {
                Spec = model is null ? "none" : File.Exists(model) || Directory.Exists(model) ? "checkpoint" : model.ToLowerInvariant(),
                Content = model is null ? "none" : ModelHash(model),
            },
            Data = new CellIdentityData
            {
                Task = cell.Data.Task?.ToLowerInvariant(),
                Dataset = cell.Data.Dataset is { } d ? FileHash(d) : null,
                BatchSize = p.BatchSize,
                TrainSize = p.TrainSize,
                TestSize = p.TestSize,
                Shuffle = p.Shuffle,
                TokenPositions = p.TokenPositions,
                PrependBos = p.PrependBos,
                TailDivergence = p.TailDivergence,
            },
            Algorithm = new CellIdentityAlgorithm { Key = entry.Descriptor.Key, Origin = entry.Origin, Options = options },
            Graph = new CellIdentityGraph { Factorized = p.Factorized, SeparateQkv = p.SeparateQkv },
            Evaluation = new CellIdentityEvaluation
            {
                Edges = (p.Edges is null ? EdgeCountRequest.Default : EdgeCountRequest.Parse(p.Edges)).ToString(),
                PatchType = EvaluationNames.PatchTypeName(cell.PatchType),
                Ablation = cell.Ablation.ToCliName(),
                Reverse = p.Reverse,
            },
            Seed = cell.Seed,
            Device = p.Device,
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(identity, SweepJsonContext.Compact.CellIdentity);
        return (Convert.ToHexStringLower(SHA256.HashData(bytes))[..32], identity);
    }

    /// <summary>The model a cell without one runs on: its task's, else the default.</summary>
    private static string? DefaultModel(SweepData data) =>
        data.Task is { } t ? TaskCatalog.Find(t).DefaultModel : data.Dataset is null ? ModelCatalog.DefaultModel : null;

    /// <summary>The model's content: the embedded toy's bytes, the micro model's name (its weights are code), a checkpoint
    /// file with the tokenizer files beside it, or every file of a checkpoint folder.</summary>
    private string ModelHash(string spec) => _hashes.GetOrAdd("model:" + spec, _ =>
    {
        if (string.Equals(spec, "micro", StringComparison.OrdinalIgnoreCase))
        {
            return "builtin:micro";
        }

        if (string.Equals(spec, ToyModel.Name, StringComparison.OrdinalIgnoreCase))
        {
            using var stream = typeof(ToyModel).Assembly.GetManifestResourceStream("AutoCircuit.Models.Toy." + ToyModel.FileName)
                ?? throw new InvalidOperationException($"The embedded {ToyModel.FileName} is missing.");
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        if (Directory.Exists(spec))
        {
            return FolderHash(spec);
        }

        if (File.Exists(spec))
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(spec))!;
            var parts = new StringBuilder(FileHash(spec));
            if (string.Equals(Path.GetExtension(spec), ".bin", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var tok in Directory.EnumerateFiles(folder, "tok*.bin").Where(f => f != Path.GetFullPath(spec)).Order(StringComparer.Ordinal))
                {
                    parts.Append(';').Append(Path.GetFileName(tok)).Append('=').Append(FileHash(tok));
                }
            }

            return parts.ToString();
        }

        return "name:" + spec;
    });

    private string FolderHash(string folder)
    {
        var root = Path.GetFullPath(folder);
        var sb = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                     .Select(f => Path.GetRelativePath(root, f))
                     .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
                     .Order(StringComparer.Ordinal))
        {
            sb.Append(file).Append('=').Append(FileHash(Path.Combine(root, file))).Append('\n');
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private string FileHash(string path) => _hashes.GetOrAdd("file:" + Path.GetFullPath(path), full =>
    {
        try
        {
            using var stream = File.OpenRead(full[5..]);
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (IOException e)
        {
            throw new Engine.AutoCircuitException($"{path}: cannot be read to compute the cell's key: {e.Message}");
        }
    });
}
