using System.Runtime.InteropServices;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>
/// An independent route to the embedded toy model's outputs: its weights read straight from the committed
/// <c>toy-induction.safetensors</c> (a parser of its own, not the project's loader) and its forward pass written out
/// in float64 (two attention-only blocks: LayerNorm, per-head attention with a causal mask, <c>W_O</c> per head, then
/// the final LayerNorm and the unembedding), so that measurements of the model can be checked against numbers the
/// code under test did not produce.
/// </summary>
internal sealed class ToyReferenceForward : IDisposable
{
    private const int Heads = 4;
    private const double Eps = 1e-5;
    private readonly Dictionary<string, Tensor> _w;

    public ToyReferenceForward()
    {
        var path = Repository.File("src", "Host", "AutoCircuit.Models", "Toy", "toy-induction.safetensors");
        _w = Read(path);
    }

    /// <summary>The weights as stored, float64.</summary>
    public IReadOnlyDictionary<string, Tensor> Weights => _w;

    /// <summary>Logits <c>[n, T, V]</c> and each layer's attention pattern <c>[n, H, T, T]</c> for token ids <c>[n, T]</c>.</summary>
    public (Tensor Logits, Tensor[] Patterns) Run(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        long n = tokens.shape[0], t = tokens.shape[1];
        var x = _w["embed.W_E"].index_select(0, tokens.flatten()).view(n, t, -1) + _w["pos_embed.W_pos"].narrow(0, 0, t); // [n, T, d]
        var causal = torch.ones(t, t, dtype: ScalarType.Bool).tril(); // [T, S]: query t sees keys s <= t
        var patterns = new Tensor[2];
        for (var l = 0; l < 2; l++)
        {
            var p = $"blocks.{l}.";
            var ln = LayerNorm(x, _w[p + "ln1.w"], _w[p + "ln1.b"]); // [n, T, d]
            var q = Heads4(ln.matmul(_w[p + "attn.W_Q"].t()) + _w[p + "attn.b_Q"]); // [n, T, H, dh]
            var k = Heads4(ln.matmul(_w[p + "attn.W_K"].t()) + _w[p + "attn.b_K"]);
            var v = Heads4(ln.matmul(_w[p + "attn.W_V"].t()) + _w[p + "attn.b_V"]);
            var scores = torch.einsum("nthe,nshe->nhts", q, k) / Math.Sqrt(q.shape[3]); // [n, H, T, S]
            var pattern = scores.masked_fill(causal.logical_not(), double.NegativeInfinity).softmax(-1); // [n, H, T, S]
            var z = torch.einsum("nhts,nshe->nthe", pattern, v); // [n, T, H, dh]
            x = x + torch.einsum("nthe,hed->ntd", z, _w[p + "attn.W_O"]) + _w[p + "attn.b_O"]; // [n, T, d]
            patterns[l] = pattern.MoveToOuterDisposeScope();
        }

        var logits = LayerNorm(x, _w["ln_final.w"], _w["ln_final.b"]).matmul(_w["unembed.W_U"].t()); // [n, T, V]
        return (logits.MoveToOuterDisposeScope(), patterns);
    }

    public void Dispose()
    {
        foreach (var w in _w.Values)
        {
            w.Dispose();
        }
    }

    private static Tensor Heads4(Tensor x) => x.view(x.shape[0], x.shape[1], Heads, -1); // [n, T, d] -> [n, T, H, dh]

    private static Tensor LayerNorm(Tensor x, Tensor w, Tensor b)
    {
        var mean = x.mean([-1L], keepdim: true); // [n, T, 1]
        var centred = x - mean;
        var variance = (centred * centred).mean([-1L], keepdim: true); // biased, as LayerNorm
        return centred / (variance + Eps).sqrt() * w + b;
    }

    /// <summary>safetensors: an 8-byte little-endian header length, a JSON header, then the raw tensors (all F32 here).</summary>
    private static Dictionary<string, Tensor> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var data = 8 + headerLength;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject().Where(e => e.Name != "__metadata__"))
        {
            if (entry.Value.GetProperty("dtype").GetString() != "F32")
            {
                throw new InvalidDataException($"{path}: {entry.Name} is not F32");
            }

            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt32()).ToArray();
            var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(data + offsets[0], offsets[1] - offsets[0])).ToArray();
            using var f32 = torch.tensor(values, shape);
            tensors[entry.Name] = f32.to_type(ScalarType.Float64);
        }

        return tensors;
    }
}
