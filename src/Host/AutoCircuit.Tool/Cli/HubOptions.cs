using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AutoCircuit.Models.Hub;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// The option of models by name (<c>--model gpt2</c>, <c>--model org/name@revision</c>): <c>--download</c>. A new instance
/// declares it for one command: <see cref="JobOptions"/> holds one for <c>run</c>, <c>compare</c> and <c>evaluate</c>
/// (bound into <see cref="Host.Jobs.JobRequest.Download"/>); <c>logits</c> and <c>generate</c> declare their own and
/// resolve with <see cref="Resolver"/>.
/// </summary>
internal sealed class HubOptions
{
    /// <summary>The environment a model by name reads, for help texts.</summary>
    public const string EnvironmentHelp =
        "Models by name use the Hugging Face cache: HF_HUB_CACHE (else HF_HOME/hub, else ~/.cache/huggingface/hub), " +
        "HF_ENDPOINT, HF_TOKEN (gated models) and HF_HUB_OFFLINE=1 (never download).";

    public Option<bool> Download { get; } = new("--download")
    {
        Description = "For --model given as a Hugging Face name: ask the hub for the revision's newest commit and download " +
                      "what the cache lacks, even when a snapshot is cached. Without it a cached snapshot is used as it is " +
                      "and only a model missing from the cache is downloaded. HF_HUB_OFFLINE=1 forbids both.",
    };

    /// <summary>A resolver for commands without a job's progress display: downloads report on <paramref name="error"/>.</summary>
    public HubResolver Resolver(ParseResult parse, TextWriter error, CancellationToken token) =>
        HubResolver.FromEnvironment(parse.GetValue(Download), new LineProgress(error), error, token);

    /// <summary>One line per file when it is done, and every 10 s while it downloads.</summary>
    private sealed class LineProgress(TextWriter error) : IProgressSink
    {
        public IProgressTask Start(string description, long total) => new Task(error, description, total);

        private sealed class Task(TextWriter error, string description, long total) : IProgressTask
        {
            private readonly Stopwatch _clock = Stopwatch.StartNew();
            private long _done;
            private TimeSpan _last;

            public void Advance(long steps = 1)
            {
                _done += steps;
                if (_clock.Elapsed - _last > TimeSpan.FromSeconds(10))
                {
                    _last = _clock.Elapsed;
                    error.WriteLine(string.Create(
                        CultureInfo.InvariantCulture, $"{description}: {_done / 1048576.0:0.#} of {total / 1048576.0:0.#} MiB"));
                }
            }

            public void Describe(string text)
            {
            }

            public void Dispose() => error.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"{description}: {_done / 1048576.0:0.##} MiB in {_clock.Elapsed.TotalSeconds:0.#} s"));
        }
    }
}
