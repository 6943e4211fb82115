using AutoCircuit.Tool.Cli;

return await CommandLine.InvokeAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
