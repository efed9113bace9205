"""How Redis and memcached count the memory of an entry, so that a byte capacity means `maxmemory` or `-m`.

A cache server's memory limit covers more than the values: Redis counts
every allocation it makes (the key, the value object, the hash-table entry,
the bucket array, its own fixed structures), as the allocator rounds them up;
memcached's `-m` buys 1 MiB slab pages, each cut into chunks of one size, and
an item takes a whole chunk of the smallest class it fits.  The functions
here give those costs for a key of `key_bytes` and a value of `value_bytes`;
the server policies (policies/redis.py, policies/memcached.py) charge them
against the capacity, and other tools (a capacity planner) can call them.

    entry_bytes("redis", 16, 100)        -> 192   bytes Redis counts for one key
    entry_bytes("memcached", 16, 100)    -> 192   the slab chunk the item takes (an item of 175)
    entry_overhead("redis", 16, 100)     -> 76    the part that is neither key nor value

Redis 7.0 (facts from src/dict.h, sds.h/sds.c, object.c, networking.c;
checked against `used_memory` of a real redis-server 7.0.15 with jemalloc
5.3, see tests/experiments/test_validate.py):

* every allocation is counted at its jemalloc size class (``jemalloc_size``);
* the hash-table entry is 24 bytes (key, value, next pointers) -> 32;
* the key is an sds string: a 1-byte header below 32 bytes, 3 below 256,
  5 below 64 KiB, 9 above, plus the bytes and a terminating NUL;
* a value of at most 44 bytes is "embstr": object header (16 bytes), a
  3-byte sds header, the bytes and a NUL in one allocation; a longer one is
  an object header (16) plus its own sds string; a value of 32 KiB or more
  arrives in a query buffer sized for its "\\r\\n" too, which becomes the
  value (2 more bytes);
* the bucket array of the main dictionary, 8 bytes a bucket, a power of two
  (``redis_table_bytes``) -- shared, so not part of an entry;
* a fixed part: a server with no keys and one connection in use counts
  about 1 MiB (``REDIS_BASELINE_BYTES``; `kvsim validate` measures it).

Values are assumed not to look like integers (Redis stores those as numbers).

memcached 1.6 (facts from memcached.h, items.c, slabs.c, memcached.c):

* an item is a 48-byte header, the key and a NUL, the value and "\\r\\n",
  and 8 bytes of CAS id (``-C`` turns CAS off), plus 4 bytes of client flags
  when they are not zero (``memcached_item_bytes``);
* slab classes: the first chunk is the header plus `-n` (48) bytes, each next
  one `-f` (1.25) times larger, rounded up to 8 bytes, until the largest,
  half a page (512 KiB); an item takes one chunk of the first class it fits
  (``memcached_chunk_sizes``, ``memcached_class``);
* `-m` megabytes of 1 MiB pages; hash table and connections are outside it.
"""

from __future__ import annotations

import bisect
import functools
import math

SERVERS = ("redis", "memcached")

#: bytes Redis 7.0.15's used_memory counts with no keys and one connection that has served
#: pipelined batches (measured as kvsim validate does, which uses the server's own figure)
REDIS_BASELINE_BYTES = 1_038_296

#: Redis: values up to this long are embedded in their object (OBJ_ENCODING_EMBSTR_SIZE_LIMIT)
REDIS_EMBSTR_LIMIT = 44
#: Redis: a bulk argument this long gets a query buffer of its own, which becomes the value (PROTO_MBULK_BIG_ARG)
REDIS_BIG_ARG = 32 * 1024
_REDIS_OBJECT = 16  # robj: type/encoding/lru bit fields, refcount, pointer
_REDIS_DICT_ENTRY = 24  # dictEntry: key, value, next
_REDIS_BUCKET = 8  # one pointer per hash-table bucket

MEMCACHED_ITEM_HEADER = 48  # sizeof(item) on 64-bit builds
MEMCACHED_PAGE = 1024 * 1024  # settings.slab_page_size
MEMCACHED_ITEM_MAX = 1024 * 1024  # settings.item_size_max (-I)
MEMCACHED_MAX_CLASSES = 63  # MAX_NUMBER_OF_SLAB_CLASSES (63 + 1) less class 0, which holds no items
MEMCACHED_LEAST_MEMORY = 2 * MEMCACHED_ITEM_MAX  # -m may not be less than twice -I (memcached.c)
_MEMCACHED_ALIGN = 8  # CHUNK_ALIGN_BYTES


def jemalloc_size(n: int) -> int:
    """The size class jemalloc (64-bit) rounds an allocation of `n` bytes up to.

    8; multiples of 16 up to 128; then four classes per doubling (160, 192,
    224, 256, 320, ...), the same spacing for large allocations.
    """
    if n <= 8:
        return 8
    if n <= 128:
        return -(-n // 16) * 16
    step = 1 << ((n - 1).bit_length() - 3)  # a quarter of the power of two below n
    return -(-n // step) * step


def _sds_header(length: int) -> int:
    """Bytes of the header sds picks for a string of `length` (sdsReqType)."""
    if length < 1 << 5:
        return 1
    if length < 1 << 8:
        return 3
    if length < 1 << 16:
        return 5
    return 9 if length < 1 << 32 else 17


def redis_key_bytes(key_bytes: int) -> int:
    """The key's sds string, as allocated."""
    return jemalloc_size(_sds_header(key_bytes) + key_bytes + 1)


@functools.lru_cache(maxsize=4096)
def redis_value_bytes(value_bytes: int) -> int:
    """The value's object (and string), as allocated."""
    if value_bytes <= REDIS_EMBSTR_LIMIT:
        return jemalloc_size(_REDIS_OBJECT + 3 + value_bytes + 1)
    if value_bytes >= REDIS_BIG_ARG:  # the query buffer that held "<value>\r\n" becomes the string
        string = _sds_header(value_bytes + 2) + value_bytes + 3
    else:
        string = _sds_header(value_bytes) + value_bytes + 1
    return jemalloc_size(_REDIS_OBJECT) + jemalloc_size(string)


def redis_entry_bytes(key_bytes: int, value_bytes: int) -> int:
    """Bytes Redis counts for one string key: dict entry, key, value (not the shared bucket array)."""
    return jemalloc_size(_REDIS_DICT_ENTRY) + redis_key_bytes(key_bytes) + redis_value_bytes(value_bytes)


def redis_table_bytes(buckets: int) -> int:
    """The bucket array of a dictionary with `buckets` buckets (0 before the first key)."""
    return jemalloc_size(_REDIS_BUCKET * buckets) if buckets else 0


def memcached_item_bytes(key_bytes: int, value_bytes: int, cas: bool = True, flags: bool = False) -> int:
    """An item's size as memcached computes it (ITEM_ntotal): what picks its slab class."""
    return MEMCACHED_ITEM_HEADER + key_bytes + 1 + value_bytes + 2 + (8 if cas else 0) + (4 if flags else 0)


@functools.lru_cache(maxsize=64)
def memcached_chunk_sizes(
    growth_factor: float = 1.25, min_chunk: int = 48, page_bytes: int = MEMCACHED_PAGE, chunk_max: int | None = None
) -> tuple[int, ...]:
    """The chunk size of every slab class, smallest first (slabs_init).

    growth_factor: `-f`; min_chunk: `-n` (room for key and value in the first
    class); chunk_max: the largest chunk (default half a page, `-o slab_chunk_max`).

    As slabs_init does: from the item header plus `-n`, each class's chunk
    the previous one's times `-f`, truncated to whole bytes (an unsigned int
    in C) and aligned up to 8, while it is below chunk_max / `-f`, and for at
    most 62 classes; then the class of chunk_max: 63 classes at most (its
    array holds MAX_NUMBER_OF_SLAB_CLASSES = 64, and class 0 is not one).  A
    factor so close to 1 that the truncation undoes it (-f 1.01 at 96 bytes)
    repeats a size until the cap, as memcached does.
    """
    if not (isinstance(growth_factor, (int, float)) and math.isfinite(growth_factor) and growth_factor > 1):
        raise ValueError(f"growth_factor must be a finite number > 1 (memcached's -f); got {growth_factor!r}")
    chunk_max = page_bytes // 2 if chunk_max is None else chunk_max
    sizes: list[int] = []
    size = MEMCACHED_ITEM_HEADER + min_chunk
    while size < chunk_max / growth_factor and len(sizes) < MEMCACHED_MAX_CLASSES - 1:
        size += -size % _MEMCACHED_ALIGN
        sizes.append(size)
        size = int(size * growth_factor)
    sizes.append(chunk_max)
    return tuple(sizes)


def memcached_class(item_bytes: int, chunk_sizes: tuple[int, ...]) -> int:
    """Index of the slab class an item of `item_bytes` goes to (slabs_clsid); the last one if it fits none."""
    return min(bisect.bisect_left(chunk_sizes, item_bytes), len(chunk_sizes) - 1)


def memcached_entry_bytes(key_bytes: int, value_bytes: int, cas: bool = True) -> int:
    """Memory an item takes with the default slab classes: its chunk (several for items above 512 KiB)."""
    sizes = memcached_chunk_sizes()
    item = memcached_item_bytes(key_bytes, value_bytes, cas)
    if item > sizes[-1]:
        return -(-item // sizes[-1]) * sizes[-1]
    return sizes[memcached_class(item, sizes)]


def entry_bytes(server: str, key_bytes: int, value_bytes: int) -> int:
    """Bytes one entry takes in `server`'s own accounting ("redis" or "memcached")."""
    if server == "redis":
        return redis_entry_bytes(key_bytes, value_bytes)
    if server == "memcached":
        return memcached_entry_bytes(key_bytes, value_bytes)
    raise ValueError(f"server must be one of {', '.join(SERVERS)}; got {server!r}")


def entry_overhead(server: str, key_bytes: int, value_bytes: int) -> int:
    """What an entry costs beyond its key and value bytes."""
    return entry_bytes(server, key_bytes, value_bytes) - key_bytes - value_bytes
