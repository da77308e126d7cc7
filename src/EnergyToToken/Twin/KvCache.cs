namespace EnergyToToken.Twin;

/// <summary>
/// The paged KV cache: fixed-size blocks with reference counts, and (with prefix caching) a map from the hash of a
/// full block's token prefix to the block that holds it. Freed blocks keep their contents until reused, oldest first,
/// as vLLM's free queue does, so a later request with the same prefix can still hit them.
/// </summary>
internal sealed class KvCache
{
    private readonly int[] _refs;
    private readonly ulong[] _hash;
    private readonly long[] _freedAt;
    private readonly Queue<(int Block, long Stamp)> _free = new();
    private readonly Dictionary<ulong, int> _cached = new();
    private readonly bool _prefixCache;
    private long _stamp;

    public KvCache(int blocks, bool prefixCache)
    {
        _refs = new int[blocks];
        _hash = new ulong[blocks];
        _freedAt = new long[blocks];
        _prefixCache = prefixCache;
        for (var b = 0; b < blocks; b++) _free.Enqueue((b, 0));
        FreeBlocks = blocks;
    }

    /// <summary>Blocks no sequence holds (some may still hold a cached prefix).</summary>
    public int FreeBlocks { get; private set; }

    /// <summary>Share of blocks held by sequences, 0–1 (vLLM's <c>kv_cache_usage_perc</c>).</summary>
    public double Usage => 1 - FreeBlocks / (double)_refs.Length;

    /// <summary>Takes a free block, evicting the cached prefix it held; −1 when none is free.</summary>
    public int Allocate()
    {
        while (_free.TryDequeue(out var entry))
        {
            // Entries go stale when a prefix hit revived the block after it was queued.
            if (_refs[entry.Block] != 0 || _freedAt[entry.Block] != entry.Stamp) continue;
            var block = entry.Block;
            if (_hash[block] != 0)
            {
                if (_cached.TryGetValue(_hash[block], out var owner) && owner == block) _cached.Remove(_hash[block]);
                _hash[block] = 0;
            }
            _refs[block] = 1;
            FreeBlocks--;
            return block;
        }
        return -1;
    }

    public void Release(int block)
    {
        if (--_refs[block] > 0) return;
        FreeBlocks++;
        _freedAt[block] = ++_stamp;
        _free.Enqueue((block, _stamp));
    }

    /// <summary>Records that <paramref name="block"/> now holds the full block whose prefix hashes to <paramref name="hash"/>.</summary>
    public void Register(int block, ulong hash)
    {
        if (!_prefixCache || hash == 0) return;
        _hash[block] = hash;
        _cached.TryAdd(hash, block);
    }

    /// <summary>Takes a reference to the block holding <paramref name="hash"/>, if one does; −1 otherwise.</summary>
    public int Hit(ulong hash)
    {
        if (!_prefixCache || !_cached.TryGetValue(hash, out var block)) return -1;
        if (_refs[block]++ == 0)
        {
            FreeBlocks--;
            _freedAt[block] = ++_stamp; // its queue entry is now stale
            // Revived blocks leave stale entries behind; drop them before they outnumber the blocks.
            if (_free.Count > 2 * _refs.Length) Compact();
        }
        return block;
    }

    /// <summary>Entries in the free queue, stale ones included (for tests: it stays within twice the block count).</summary>
    public int QueueLength => _free.Count;

    private void Compact()
    {
        var live = _free.Where(e => _refs[e.Block] == 0 && _freedAt[e.Block] == e.Stamp).ToList();
        _free.Clear();
        foreach (var entry in live) _free.Enqueue(entry);
    }

    /// <summary>Whether a prefix hash is cached, without taking it (to count hits before allocating).</summary>
    public bool Contains(ulong hash) => _prefixCache && _cached.ContainsKey(hash);

    /// <summary>Whether the cached block for <paramref name="hash"/> is free (taking it lowers the free count).</summary>
    public bool IsFree(ulong hash) => _cached.TryGetValue(hash, out var block) && _refs[block] == 0;

    /// <summary>The chained hash of a block of tokens after a prefix with hash <paramref name="previous"/>; never 0.</summary>
    public static ulong Chain(ulong previous, ReadOnlySpan<int> tokens)
    {
        var h = previous ^ 0x9E3779B97F4A7C15UL;
        foreach (var token in tokens)
        {
            h ^= (uint)token;
            h *= 0x100000001B3UL;
            h ^= h >> 29;
        }
        return h == 0 ? 1 : h;
    }
}
