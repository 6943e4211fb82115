using AutoCircuit.Engine;

namespace AutoCircuit.Models.Tokenizers;

/// <summary>Which tokenizer a file or folder holds, for <c>--tokenizer</c> and for model folders.</summary>
public static class TokenizerFiles
{
    /// <summary>What <c>--tokenizer</c> accepts, for help texts and messages.</summary>
    public const string Help =
        "a Hugging Face tokenizer.json (or a folder holding one, with its tokenizer_config.json), a folder with GPT-2's vocab.json " +
        "and merges.txt, a SentencePiece .model, or a llama2.c tokenizer .bin";

    /// <summary>
    /// Reads a tokenizer: a folder with <c>tokenizer.json</c> (preferred) or <c>vocab.json</c> + <c>merges.txt</c>, a
    /// <c>.json</c> file (<c>tokenizer.json</c>), a SentencePiece <c>.model</c> or a llama2.c <c>.bin</c>.
    /// </summary>
    /// <param name="path">The file or folder.</param>
    /// <param name="modelVocab">The model's vocabulary size, when known (llama2.c tokenizers need it).</param>
    /// <exception cref="AutoCircuitException">Missing, of an unknown kind, or unreadable.</exception>
    public static ITokenizer Load(string path, int? modelVocab = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return InModelFolder(path) ?? (File.Exists(Path.Combine(path, "vocab.json"))
                ? Gpt2Tokenizer.FromFolder(path)
                : throw new AutoCircuitException($"--tokenizer {path}: the folder has neither tokenizer.json nor vocab.json + merges.txt."));
        }

        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"--tokenizer {path}: no such file or folder.");
        }

        return Path.GetExtension(path).ToUpperInvariant() switch
        {
            ".JSON" => HfTokenizer.Load(path),
            ".BIN" => Llama2cTokenizer.Load(path, modelVocab),
            ".MODEL" => SentencePieceModelTokenizer.Load(path),
            _ => throw new AutoCircuitException($"--tokenizer {path}: expected {Help}."),
        };
    }

    /// <summary>The <c>tokenizer.json</c> of a Hugging Face model folder, or <c>null</c> when it has none.</summary>
    /// <exception cref="AutoCircuitException">The file is there but unreadable.</exception>
    public static ITokenizer? InModelFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return File.Exists(Path.Combine(folder, "tokenizer.json")) ? HfTokenizer.Load(folder) : null;
    }
}
