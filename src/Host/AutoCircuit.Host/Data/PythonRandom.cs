namespace AutoCircuit.Host.Data;

/// <summary>
/// CPython's <c>random.Random</c> (MT19937, seeded from an integer as <c>random.seed(n)</c> does) and
/// its <c>shuffle</c>, so that dataset splits with a seed select exactly the prompts auto-circuit's
/// <c>load_datasets_from_json</c> selects.
/// </summary>
internal sealed class PythonRandom
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index = N + 1;

    /// <summary>Seeds like <c>random.seed(seed)</c> for an integer seed.</summary>
    public PythonRandom(long seed)
    {
        // CPython: key = 32-bit words of abs(seed), least significant first; [0] for 0.
        var magnitude = seed == long.MinValue ? (ulong)long.MaxValue + 1 : (ulong)Math.Abs(seed);
        var key = new List<uint>();
        do
        {
            key.Add((uint)(magnitude & 0xffffffffUL));
            magnitude >>= 32;
        }
        while (magnitude != 0);

        InitByArray([.. key]);
    }

    /// <summary>Shuffles in place exactly as <c>random.shuffle</c> (Fisher-Yates from the end).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = (int)RandBelow((uint)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary><c>random._randbelow_with_getrandbits(n)</c> for n &lt; 2^32.</summary>
    public uint RandBelow(uint n)
    {
        var k = 32 - System.Numerics.BitOperations.LeadingZeroCount(n); // n.bit_length()
        var r = GetRandBits(k);
        while (r >= n)
        {
            r = GetRandBits(k);
        }

        return r;
    }

    /// <summary><c>random.getrandbits(k)</c> for 0 &lt; k ≤ 32.</summary>
    public uint GetRandBits(int k) => k == 0 ? 0 : NextUInt32() >> (32 - k);

    /// <summary>The next raw 32-bit output of MT19937 (<c>genrand_uint32</c>).</summary>
    public uint NextUInt32()
    {
        if (_index >= N)
        {
            Twist();
        }

        var y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680U;
        y ^= (y << 15) & 0xefc60000U;
        y ^= y >> 18;
        return y;
    }

    private void InitGenrand(uint s)
    {
        _mt[0] = s;
        for (var i = 1; i < N; i++)
        {
            _mt[i] = (1812433253U * (_mt[i - 1] ^ (_mt[i - 1] >> 30))) + (uint)i;
        }

        _index = N;
    }

    private void InitByArray(uint[] key)
    {
        InitGenrand(19650218U);
        int i = 1, j = 0;
        for (var k = Math.Max(N, key.Length); k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525U)) + key[j] + (uint)j;
            i++;
            j++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }

            if (j >= key.Length)
            {
                j = 0;
            }
        }

        for (var k = N - 1; k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941U)) - (uint)i;
            i++;
            if (i >= N)
            {
                _mt[0] = _mt[N - 1];
                i = 1;
            }
        }

        _mt[0] = 0x80000000U;
        _index = N;
    }

    private void Twist()
    {
        for (var i = 0; i < N; i++)
        {
            var y = (_mt[i] & 0x80000000U) | (_mt[(i + 1) % N] & 0x7fffffffU);
            var v = _mt[(i + M) % N] ^ (y >> 1);
            if ((y & 1) != 0)
            {
                v ^= 0x9908b0dfU;
            }

            _mt[i] = v;
        }

        _index = 0;
    }
}
