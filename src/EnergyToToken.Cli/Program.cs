using EnergyToToken.Cli;

return Cli.CreateRoot().Parse(args).Invoke();
