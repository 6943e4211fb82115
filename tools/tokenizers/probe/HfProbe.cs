// Scratch probe (see run-probe.sh): not part of AutoCircuit.sln.
using Tokenizers.DotNet;

var fixtures = args[0];
var tokenizers = args[1];
Runner.Run("Tokenizers.DotNet 1.4.1", fixtures, tokenizers, (folder, exp) => new HfAdapter(folder, exp), args[2]);

sealed class HfAdapter : ITokenizerUnderTest
{
    private readonly Tokenizer _tok;
    private readonly int _prefix;
    public HfAdapter(string folder, Expected exp)
    {
        _tok = new Tokenizer(vocabPath: Path.Combine(folder, "tokenizer.json"));
        Console.WriteLine($"  (native tokenizers version: {_tok.GetVersion()})");
        // The binding has no add_special_tokens switch: Encode applies the post-processor. For the
        // "no special" variant strip what the template prepends (found by encoding "").
        _prefix = _tok.Encode("").Length;
    }
    public int[] Encode(string text, bool addSpecial)
    {
        var ids = _tok.Encode(text).Select(u => (int)u).ToArray();
        return addSpecial ? ids : ids.Skip(_prefix).ToArray();
    }
    public string Decode(int[] ids) => _tok.Decode(ids.Select(i => (uint)i).ToArray());
    public bool DecodeSkipsSpecial => true;
    public void Dispose() => _tok.Dispose();
}
