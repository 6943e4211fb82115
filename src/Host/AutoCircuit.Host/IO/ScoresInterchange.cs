using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Host.IO;

/// <summary>The formats scores are read from and written to.</summary>
public enum ScoresFormat
{
    /// <summary>Decided from the path: a folder is MIB; <c>.csv</c> an edge list; <c>.safetensors</c> ours; <c>.json</c>
    /// MIB when it has <c>cfg</c> and <c>edges</c>, else ours / auto-circuit's.</summary>
    Auto = 0,

    /// <summary><see cref="ScoresFile"/>: our <c>scores/&lt;key&gt;.json</c>, or auto-circuit's prune scores
    /// (<c>{"module name": nested arrays}</c>).</summary>
    AutoCircuit = 1,

    /// <summary>One tensor per destination module (<see cref="ScoresFile.WriteSafetensors"/>).</summary>
    Safetensors = 2,

    /// <summary><see cref="EdgeListFile"/>: <c>src,dest,position,score</c>.</summary>
    Csv = 3,

    /// <summary><see cref="MibCircuitFile"/>: a MIB graph file or submission folder.</summary>
    Mib = 4,
}

/// <summary>What <c>--export</c> writes per algorithm.</summary>
[Flags]
public enum ScoresExports
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary><c>exports/&lt;label&gt;/prune-scores.json</c>: auto-circuit's layout, module name → nested arrays.</summary>
    AutoCircuit = 1,

    /// <summary><c>exports/&lt;label&gt;/edges.csv</c>.</summary>
    Csv = 2,

    /// <summary><c>exports/&lt;label&gt;/mib/importances.json</c>.</summary>
    Mib = 4,

    /// <summary><c>exports/&lt;label&gt;/mib-circuits/circuit-&lt;p&gt;pct.json</c>, MIB's nine binary circuits.</summary>
    MibCircuits = 8,

    /// <summary><c>exports/&lt;label&gt;/mib-submission/{edge,node}/&lt;task&gt;_&lt;model&gt;/importances.{json,pt}</c>: MIB
    /// submission folders (<see cref="MibCircuitFile.WriteSubmission"/>); MIB's transformer graphs only.</summary>
    MibSubmission = 16,
}

/// <summary>Reads scores in any supported format, and writes the interchange exports.</summary>
internal static class ScoresInterchange
{
    /// <summary>The <c>--scores-format</c> names.</summary>
    public const string FormatNames = "auto, autocircuit, safetensors, csv, mib";

    /// <summary>The <c>--export</c> names.</summary>
    public const string ExportNames = "autocircuit, csv, mib, mib-circuits, mib-submission, all, none";

    /// <summary>Parses <c>--scores-format</c>.</summary>
    /// <exception cref="AutoCircuitException">An unknown name.</exception>
    public static ScoresFormat ParseFormat(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => ScoresFormat.Auto,
        "autocircuit" or "auto-circuit" or "json" => ScoresFormat.AutoCircuit,
        "safetensors" => ScoresFormat.Safetensors,
        "csv" or "edges" => ScoresFormat.Csv,
        "mib" => ScoresFormat.Mib,
        _ => throw new AutoCircuitException($"--scores-format {text}: expected one of {FormatNames}."),
    };

    /// <summary>Parses <c>--export</c> (comma-separated names).</summary>
    /// <exception cref="AutoCircuitException">An unknown name.</exception>
    public static ScoresExports ParseExports(string? text)
    {
        var result = ScoresExports.None;
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            result |= part.ToLowerInvariant() switch
            {
                "none" => ScoresExports.None,
                "autocircuit" or "auto-circuit" => ScoresExports.AutoCircuit,
                "csv" => ScoresExports.Csv,
                "mib" => ScoresExports.Mib,
                "mib-circuits" => ScoresExports.MibCircuits,
                "mib-submission" => ScoresExports.MibSubmission,
                "all" => ScoresExports.AutoCircuit | ScoresExports.Csv | ScoresExports.Mib | ScoresExports.MibCircuits,
                _ => throw new AutoCircuitException($"--export {text}: '{part}' is not one of {ExportNames}."),
            };
        }

        return result;
    }

    /// <summary>The format a path is read as under <see cref="ScoresFormat.Auto"/>.</summary>
    /// <exception cref="AutoCircuitException">The path does not exist.</exception>
    public static ScoresFormat Detect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return ScoresFormat.Mib;
        }

        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: scores file not found.");
        }

        switch (Path.GetExtension(path).ToUpperInvariant())
        {
            case ".CSV":
                return ScoresFormat.Csv;
            case ".SAFETENSORS":
                return ScoresFormat.Safetensors;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return MibCircuitFile.IsMibDocument(doc.RootElement) ? ScoresFormat.Mib : ScoresFormat.AutoCircuit;
        }
        catch (JsonException)
        {
            return ScoresFormat.AutoCircuit; // its reader reports where the JSON breaks
        }
    }

    /// <summary>Reads scores of <paramref name="graph"/> from <paramref name="path"/>.</summary>
    /// <exception cref="AutoCircuitException">The file cannot be read as that format or does not fit the graph; the message
    /// names the file and the place.</exception>
    public static LoadedScores Read(string path, ModelGraph graph, ScoresFormat format = ScoresFormat.Auto)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(graph);
        if (format == ScoresFormat.Auto)
        {
            format = Detect(path);
        }

        var loaded = format switch
        {
            ScoresFormat.AutoCircuit => ScoresFile.ReadJson(path, graph),
            ScoresFormat.Safetensors => ReadSafetensors(path, graph),
            ScoresFormat.Csv => EdgeListFile.Read(path, graph),
            ScoresFormat.Mib => MibCircuitFile.Read(path, graph),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
        if (loaded.Scores.HasNonFinite())
        {
            loaded.Scores.Dispose();
            throw new AutoCircuitException($"{path}: the scores contain NaN or infinite values; edges cannot be ranked.");
        }

        return loaded;
    }

    /// <summary>Writes auto-circuit's prune-scores layout: <c>{"module name": nested arrays}</c>, nothing else.</summary>
    public static void WriteAutoCircuitJson(string path, PruneScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        using var fs = File.Create(path);
        using var w = new Utf8JsonWriter(fs);
        w.WriteStartObject();
        foreach (var (module, tensor) in scores)
        {
            using var cpu = tensor.detach().to_type(torch.ScalarType.Float32).cpu().contiguous();
            var data = cpu.data<float>().ToArray();
            w.WritePropertyName(module);
            var pos = 0;
            WriteNested(w, data, tensor.shape, 0, ref pos);
        }

        w.WriteEndObject();
    }

    /// <summary>Writes the requested exports of one algorithm's scores into <paramref name="directory"/>.</summary>
    /// <param name="directory">The algorithm's export folder.</param>
    /// <param name="scores">The scores.</param>
    /// <param name="exports">What to write.</param>
    /// <param name="dModel">The model's width, for MIB's <c>cfg.d_model</c>.</param>
    /// <param name="mibSubmission">The submission folder's name (<c>&lt;task&gt;_&lt;model&gt;</c>,
    /// <see cref="MibCircuitFile.SubmissionFolderName"/>), for <see cref="ScoresExports.MibSubmission"/>.</param>
    /// <returns>The files written, relative to <paramref name="directory"/>.</returns>
    public static IReadOnlyList<string> WriteExports(
        string directory, PruneScores scores, ScoresExports exports, int? dModel, string? mibSubmission = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var files = new List<string>();
        if (exports == ScoresExports.None)
        {
            return files;
        }

        Directory.CreateDirectory(directory);
        var flat = FlatScores.From(scores);
        if (exports.HasFlag(ScoresExports.AutoCircuit))
        {
            WriteAutoCircuitJson(Path.Combine(directory, "prune-scores.json"), scores);
            files.Add("prune-scores.json");
        }

        if (exports.HasFlag(ScoresExports.Csv))
        {
            EdgeListFile.Write(Path.Combine(directory, "edges.csv"), flat);
            files.Add("edges.csv");
        }

        if (exports.HasFlag(ScoresExports.Mib))
        {
            Directory.CreateDirectory(Path.Combine(directory, "mib"));
            MibCircuitFile.WriteImportances(Path.Combine(directory, "mib", MibCircuitFile.ImportancesFileName), flat, dModel);
            files.Add(Path.Combine("mib", MibCircuitFile.ImportancesFileName));
        }

        if (exports.HasFlag(ScoresExports.MibCircuits))
        {
            var names = MibCircuitFile.WriteCircuits(Path.Combine(directory, "mib-circuits"), flat, dModel);
            files.AddRange(names.Select(n => Path.Combine("mib-circuits", n)));
        }

        if (exports.HasFlag(ScoresExports.MibSubmission))
        {
            var written = MibCircuitFile.WriteSubmission(
                Path.Combine(directory, "mib-submission"), flat, dModel,
                mibSubmission ?? throw new ArgumentException("the MIB submission folder's name is needed", nameof(mibSubmission)));
            files.AddRange(written.Select(n => Path.Combine("mib-submission", n)));
        }

        return files;
    }

    private static LoadedScores ReadSafetensors(string path, ModelGraph graph)
    {
        List<KeyValuePair<string, torch.Tensor>> tensors;
        Dictionary<string, string> metadata;
        try
        {
            (tensors, metadata) = Safetensors.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new AutoCircuitException(e.Message, e);
        }

        var byName = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, t) in tensors)
            {
                if (!graph.TryGetDestModule(name, out var module))
                {
                    throw new AutoCircuitException(
                        $"{path}: tensor '{name}' is not a destination module of this model's graph " +
                        $"(expected: {string.Join(", ", graph.DestModules.Select(m => m.ModuleName))}).");
                }

                if (!t.shape.SequenceEqual(module.MaskShape))
                {
                    throw new AutoCircuitException(
                        $"{path}: tensor '{name}' has shape [{string.Join(", ", t.shape)}] but the graph's mask is {module.DescribeShape()}.");
                }

                byName[name] = t.to_type(torch.ScalarType.Float32).DetachFromDisposeScope();
            }

            var missing = graph.DestModules.FirstOrDefault(m => !byName.ContainsKey(m.ModuleName));
            if (missing is not null)
            {
                throw new AutoCircuitException($"{path}: no scores for destination module '{missing.ModuleName}' {missing.DescribeShape()}.");
            }

            var algorithm = metadata.TryGetValue("algorithm", out var a) ? a : Path.GetFileNameWithoutExtension(path);
            return new LoadedScores(algorithm, new Dictionary<string, JsonElement>(), PruneScores.FromTensors(graph, byName));
        }
        catch
        {
            foreach (var t in byName.Values)
            {
                t.Dispose();
            }

            throw;
        }
        finally
        {
            foreach (var (_, t) in tensors)
            {
                if (!byName.Values.Any(b => ReferenceEquals(b, t)))
                {
                    t.Dispose();
                }
            }
        }
    }

    private static void WriteNested(Utf8JsonWriter w, float[] data, long[] shape, int depth, ref int pos)
    {
        if (depth == shape.Length)
        {
            w.WriteNumberValue(data[pos++]);
            return;
        }

        w.WriteStartArray();
        for (var i = 0; i < shape[depth]; i++)
        {
            WriteNested(w, data, shape, depth + 1, ref pos);
        }

        w.WriteEndArray();
    }
}
