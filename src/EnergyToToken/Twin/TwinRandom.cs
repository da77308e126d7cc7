namespace EnergyToToken.Twin;

/// <summary>
/// The twin's seeded random stream (xorshift64*): small, allocation-free, and the same on every platform, so a seed
/// reproduces a text, an answer length or a noise sequence exactly.
/// </summary>
internal struct TwinRandom(ulong seed)
{
    private ulong _state = seed == 0 ? 0x2545F4914F6CDD1DUL : seed;

    public ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public double NextGaussian()
    {
        var u1 = NextDouble() + 1e-300;
        var u2 = NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
