using AutoCircuit.Tool.Cli;

using var signals = ProcessSignals.Register();
return await CommandLine.InvokeAsync(args, Console.Out, Console.Error, signals.Token).ConfigureAwait(false);
