using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host;
using AutoCircuit.Host.Sweeps;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit sweep</c> and <c>sweep status</c> (see docs/sweeps.md).</summary>
internal static class SweepCommand
{
    private static readonly Argument<string> PlanArgument = new("PLAN")
    {
        Description = "The plan file (YAML or JSON): models, tasks or datasets, algorithms, ablations, patch_types, seeds, protocol, " +
                      "exclude, resources (see docs/sweeps.md).",
    };

    private static readonly Option<string> BackendOption = Backend();

    private static readonly Option<string?> CacheOption = new("--cache")
    {
        Description = "The content-addressed cell cache (safe on a shared filesystem). Default: AUTOCIRCUIT_SWEEP_CACHE, else " +
                      "autocircuit-cache beside the plan.",
        HelpName = "DIR",
    };

    private static readonly Option<int?> WorkersOption = new("--workers")
    {
        Description = "local: worker processes at once. Default: resources.local.workers, else cores / resources.local.threads.",
        HelpName = "N",
    };

    private static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print {\"cells\": N, \"computed\": n, \"cached\": m, \"failed\": f} as the last stdout line (slurm: after the " +
                      "array finished); with status or --dry-run, the status as JSON.",
    };

    private static readonly Option<bool> NoWaitOption = new("--no-wait")
    {
        Description = "slurm: return after submitting the array job (follow it with 'sweep status PLAN').",
    };

    private static readonly Option<int?> CellOption = new("--cell")
    {
        Description = "Run cell I only (what workers, Slurm array tasks and Kubernetes pods run); cached cells return at once.",
        HelpName = "I",
    };

    private static readonly Option<bool> DryRunOption = new("--dry-run")
    {
        Description = "List the cells and what is already cached; compute nothing.",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command(
            "sweep",
            "Run a grid of runs — models × tasks/datasets × algorithms × ablations × patch types × seeds, from a plan file — with a " +
            "content-addressed cache (finished cells are never recomputed; an interrupted sweep resumes) on this machine, Slurm or " +
            "Kubernetes. Compare the cells with 'compare --sweep PLAN'." +
            "\n\nEnvironment: AUTOCIRCUIT_SWEEP_CACHE (default cache), AUTOCIRCUIT_SWEEP_COMMAND (how workers start the tool), " +
            "AUTOCIRCUIT_SWEEP_STALE_SECONDS (when another host's silent claim counts as dead, default 600).");
        command.Arguments.Add(PlanArgument);
        CommandLine.AddOptions(command, [BackendOption, CacheOption, WorkersOption, JsonOption, NoWaitOption, CellOption, DryRunOption]);
        command.SetAction((parse, outer) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            using var signals = new StopSignals(outer);
            var token = signals.Token;
            var plan = parse.GetValue(PlanArgument)!;
            var cache = parse.GetValue(CacheOption);
            var json = parse.GetValue(JsonOption);
            if (parse.GetValue(CellOption) is int cell)
            {
                return ProgressDisplay.Run(error, token, env =>
                {
                    var session = SweepSession.Open(plan, cache, env);
                    var outcome = CellRunner.Run(session, cell, env, PerformanceSettings.Default);
                    if (json)
                    {
                        output.WriteLine(SweepSession.SummaryLine(new SweepSummary
                        {
                            Cells = 1,
                            Computed = outcome == CellOutcome.Computed ? 1 : 0,
                            Cached = outcome == CellOutcome.Cached ? 1 : 0,
                            Failed = outcome == CellOutcome.Failed ? 1 : 0,
                        }));
                    }

                    return outcome == CellOutcome.Failed ? ExitCode.AlgorithmFailed : ExitCode.Ok;
                });
            }

            if (parse.GetValue(DryRunOption))
            {
                var env = RunEnvironment.Plain(output, error, token);
                var status = SweepStatus.Collect(SweepSession.Open(plan, cache, env));
                output.Write(json ? JsonSerializer.Serialize(status, SweepJsonContext.Default.SweepStatusFile) + "\n" : SweepStatus.Format(status));
                return ExitCode.Ok;
            }

            var backend = parse.GetValue(BackendOption) ?? "local";
            var workers = parse.GetValue(WorkersOption);
            if (workers is < 1)
            {
                throw new AutoCircuitException($"--workers {workers}: expected a positive number.");
            }

            if (parse.GetValue(NoWaitOption) && backend != "slurm")
            {
                throw new AutoCircuitException("--no-wait is for --backend slurm.");
            }

            return ProgressDisplay.Run(error, token, env =>
            {
                var session = SweepSession.Open(plan, cache, env);
                var summary = backend switch
                {
                    "slurm" => SlurmBackend.Run(session, env, parse.GetValue(NoWaitOption)),
                    "k8s" => K8sBackend.Run(session, env),
                    _ => LocalBackend.Run(session, workers, env),
                };
                if (json)
                {
                    output.WriteLine(SweepSession.SummaryLine(summary));
                }
                else
                {
                    output.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"{summary.Cells} cells: {summary.Computed} computed, {summary.Cached} cached, {summary.Failed} failed"));
                }

                return summary.Failed > 0 ? ExitCode.AlgorithmFailed : ExitCode.Ok;
            });
        })));
        command.Subcommands.Add(StatusCommand(output, error));
        return command;
    }

    /// <summary>
    /// SIGINT and SIGTERM cancel the sweep (and a worker's cell) instead of killing the process, so that workers get
    /// the signal passed on and every process removes its work folder and claim; the process then exits with 130.
    /// </summary>
    private sealed class StopSignals : IDisposable
    {
        private readonly CancellationTokenSource _source;
        private readonly PosixSignalRegistration[] _registrations;

        public StopSignals(CancellationToken outer)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
            _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }.Select(s => PosixSignalRegistration.Create(s, context =>
            {
                context.Cancel = true;
                _source.Cancel();
            }))];
        }

        public CancellationToken Token => _source.Token;

        public void Dispose()
        {
            foreach (var r in _registrations)
            {
                r.Dispose();
            }

            _source.Dispose();
        }
    }

    private static Option<string> Backend()
    {
        var option = new Option<string>("--backend")
        {
            Description = "local: worker processes on this machine; slurm: an sbatch --array job (waits for it, retries missing " +
                          "cells); k8s: writes an Indexed Job manifest for kubectl apply.",
            DefaultValueFactory = _ => "local",
        };
        option.AcceptOnlyFromAmong("local", "slurm", "k8s");
        return option;
    }

    private static Command StatusCommand(TextWriter output, TextWriter error)
    {
        var plan = new Argument<string>("PLAN") { Description = "The plan file." };
        var cache = new Option<string?>("--cache") { Description = CacheOption.Description, HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "The status as JSON." };
        var command = new Command(
            "status",
            "Each cell's state: done, running (claimed by a live worker), stale (claimed by a dead one), corrupt or missing, from the " +
            "cache; for cells submitted to Slurm, the latest array task's state from squeue (else sacct).");
        command.Arguments.Add(plan);
        command.Options.Add(cache);
        command.Options.Add(json);
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var env = RunEnvironment.Plain(output, error, token);
            var status = SweepStatus.Collect(SweepSession.Open(parse.GetValue(plan)!, parse.GetValue(cache), env));
            output.Write(parse.GetValue(json)
                ? JsonSerializer.Serialize(status, SweepJsonContext.Default.SweepStatusFile) + "\n"
                : SweepStatus.Format(status));
            return ExitCode.Ok;
        })));
        return command;
    }
}
