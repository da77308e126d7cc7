using EnergyToToken.Cli;

// InvokeAsync: on Ctrl+C, System.CommandLine cancels the running command's token and gives it time to finish
// (e2t measure prints what it measured and marks it incomplete).
return await Cli.CreateRoot().Parse(args).InvokeAsync();
