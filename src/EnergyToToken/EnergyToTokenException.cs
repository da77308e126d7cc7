namespace EnergyToToken;

/// <summary>
/// A failure we anticipated and can explain in one or two sentences. The CLI prints <see cref="Exception.Message"/>
/// to stderr without a stack trace. For anything unanticipated, let the original exception propagate.
/// </summary>
public sealed class EnergyToTokenException(string message, Exception? innerException = null)
    : Exception(message, innerException);
