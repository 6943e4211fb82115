// Scratch probe (see run-probe.sh): not part of AutoCircuit.sln.
using System.Diagnostics;
using System.Text.Json;

public sealed record Case(string Text, int[] Ids, int[] IdsNoSpecial, string Decoded, string DecodedSkipSpecial);

public sealed record Expected(string Name, JsonElement Summary, List<Case> Cases)
{
    public static List<Expected> LoadAll(string fixtures)
    {
        var list = new List<Expected>();
        foreach (var path in Directory.GetFiles(fixtures, "*.expected.json").OrderBy(p => p, StringComparer.Ordinal))
        {
            var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
            var cases = root.GetProperty("cases").EnumerateArray().Select(c => new Case(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("ids_no_special").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!, c.GetProperty("decoded_skip_special").GetString()!)).ToList();
            list.Add(new Expected(root.GetProperty("tokenizer").GetString()!, root.GetProperty("summary").Clone(), cases));
        }
        return list;
    }
}

/// <summary>One library's adapter: load a tokenizer folder, encode with / without special tokens, decode.</summary>
public interface ITokenizerUnderTest : IDisposable
{
    int[] Encode(string text, bool addSpecial);
    string Decode(int[] ids);
    /// <summary>Whether Decode drops special tokens (compared with decoded_skip_special) or keeps them.</summary>
    bool DecodeSkipsSpecial { get; }
}

public static class Runner
{
    public static void Run(string library, string fixtures, string tokenizers, Func<string, Expected, ITokenizerUnderTest?> load, string resultPath)
    {
        var results = new List<object>();
        foreach (var exp in Expected.LoadAll(fixtures))
        {
            var folder = Path.Combine(tokenizers, exp.Name);
            var sw = Stopwatch.StartNew();
            ITokenizerUnderTest? tok;
            try { tok = load(folder, exp); }
            catch (Exception e)
            {
                Console.WriteLine($"{library,-28} {exp.Name,-9} LOAD FAILED: {e.GetType().Name}: {Short(e.Message)}");
                results.Add(new { library, tokenizer = exp.Name, load_error = $"{e.GetType().Name}: {e.Message}" });
                continue;
            }
            var loadMs = sw.Elapsed.TotalMilliseconds;
            if (tok is null)
            {
                Console.WriteLine($"{library,-28} {exp.Name,-9} not attempted (no loader for this format)");
                results.Add(new { library, tokenizer = exp.Name, load_error = "no loader for this format" });
                continue;
            }
            using (tok)
            {
                int okWith = 0, okWithout = 0, okDecode = 0, errors = 0;
                var mismatches = new List<object>();
                sw.Restart();
                foreach (var c in exp.Cases)
                {
                    try
                    {
                        var with = tok.Encode(c.Text, true);
                        var without = tok.Encode(c.Text, false);
                        var decoded = c.Ids.Length == 0 ? "" : tok.Decode(c.Ids);
                        bool a = with.SequenceEqual(c.Ids), b = without.SequenceEqual(c.IdsNoSpecial);
                        bool d = decoded == (tok.DecodeSkipsSpecial ? c.DecodedSkipSpecial : c.Decoded);
                        okWith += a ? 1 : 0; okWithout += b ? 1 : 0; okDecode += d ? 1 : 0;
                        if ((!a || !b || !d) && mismatches.Count < 12)
                            mismatches.Add(new { text = c.Text, expected = c.Ids, got = with, expected_no_special = c.IdsNoSpecial, got_no_special = without,
                                                 decode_ok = d, decoded = d ? null : decoded });
                    }
                    catch (Exception e)
                    {
                        errors++;
                        if (mismatches.Count < 12) mismatches.Add(new { text = c.Text, error = $"{e.GetType().Name}: {e.Message}" });
                    }
                }
                var encMs = sw.Elapsed.TotalMilliseconds;
                int n = exp.Cases.Count;
                Console.WriteLine($"{library,-28} {exp.Name,-9} load {loadMs,7:F0} ms  ids {okWith,2}/{n}  ids_no_special {okWithout,2}/{n}  decode{(tok.DecodeSkipsSpecial ? "(skip)" : "")} {okDecode,2}/{n}  errors {errors}  ({encMs:F0} ms for all)");
                results.Add(new { library, tokenizer = exp.Name, load_ms = Math.Round(loadMs), cases = n, ids_agree = okWith, ids_no_special_agree = okWithout,
                                  decode_agree = okDecode, decode_skips_special = tok.DecodeSkipsSpecial, errors, encode_all_ms = Math.Round(encMs), mismatches });
            }
        }
        File.WriteAllText(resultPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    private static string Short(string s) => s.Length > 160 ? s[..160] + "..." : s;
}
