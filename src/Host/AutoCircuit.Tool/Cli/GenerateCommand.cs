using System.CommandLine;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit generate</c>: greedy decoding from a text prompt.</summary>
internal static class GenerateCommand
{
    internal static readonly Option<string> PromptOption = new("--prompt", "-p")
    {
        Description = "The prompt text. Llama-family models get BOS before it (as llama2.c does), so the empty prompt " +
                      "means BOS only; GPT-2 models get BOS only when the prompt is empty.",
        DefaultValueFactory = _ => string.Empty,
    };

    internal static readonly Option<int> MaxTokensOption = new("--max-tokens", "-n")
    {
        Description = "How many tokens to generate at most (stops earlier at EOS, and for Llama-family models at BOS, or at the context length).",
        DefaultValueFactory = _ => 32,
    };

    internal static readonly Option<string?> TokenizerOption = new("--tokenizer")
    {
        Description = "Tokenizer to use instead of the one found with the checkpoint: " + Models.Tokenizers.TokenizerFiles.Help + ".",
        HelpName = "PATH",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var threads = new PerformanceOptions().Threads;
        var hub = new HubOptions();
        var command = new Command(
            "generate",
            "Greedy decoding: print the prompt and its continuation (argmax token at each step) on stdout; the token ids " +
            "go to stderr. The tokenizer comes with the checkpoint (tokenizer.json in any Hugging Face folder; else " +
            "vocab.json + merges.txt or the built-in GPT-2 data for GPT-2 folders, tokenizer.model for Llama folders; " +
            "tokenizer.bin / tok<vocab>.bin beside a llama2.c file) or from --tokenizer.")
        {
            LogitsCommand.ModelOption, hub.Download, PromptOption, MaxTokensOption, TokenizerOption, LogitsCommand.DeviceOption,
            threads,
        };
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var max = parse.GetValue(MaxTokensOption);
            if (max < 0)
            {
                throw new AutoCircuitException($"--max-tokens {max}: must be 0 or more.");
            }

            var device = DeviceSelector.Resolve(parse.GetValue(LogitsCommand.DeviceOption));
            using var loaded = ModelCatalog.Load(
                parse.GetValue(LogitsCommand.ModelOption), device, parse.GetValue(TokenizerOption), hub.Resolver(parse, error, token));
            TorchThreading.Apply(parse.GetValue(threads), loaded.Model);
            var model = loaded.Model as Transformer
                ?? throw new AutoCircuitException($"--model {loaded.Name}: generate needs a transformer over token ids.");
            var tokenizer = loaded.Tokenizer
                ?? throw new AutoCircuitException($"--model {loaded.Name}: no tokenizer found with the checkpoint; give --tokenizer.");
            var prompt = parse.GetValue(PromptOption) ?? string.Empty;
            var llama = model.Config.Family == TransformerFamily.Llama;
            var ids = new List<long>();
            if ((llama || prompt.Length == 0) && tokenizer.BosId is int bos)
            {
                ids.Add(bos);
            }

            ids.AddRange(tokenizer.Encode(prompt).Select(i => (long)i));
            if (ids.Count == 0)
            {
                throw new AutoCircuitException("--prompt: empty, and the tokenizer has no BOS token to start from.");
            }

            var stop = new List<long>();
            if (tokenizer.EosId is int eos)
            {
                stop.Add(eos);
            }

            if (llama && tokenizer.BosId is int b)
            {
                stop.Add(b);
            }

            using (var tokens = TorchSharp.torch.tensor(ids.ToArray(), [1, ids.Count]))
            {
                model.ValidateTokens(tokens);
            }

            var generated = Generation.Greedy(model, ids, max, stop, token);
            output.WriteLine(tokenizer.Decode(ids.Concat(generated).Select(i => (int)i)));
            error.WriteLine($"prompt ids: [{string.Join(", ", ids)}]; generated {generated.Count}: [{string.Join(", ", generated)}]");
            return ExitCode.Ok;
        })));
        return command;
    }
}
