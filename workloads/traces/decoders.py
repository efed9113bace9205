"""Decoders: a compressed file's bytes in, its decompressed bytes out, in bounded steps; also a program.

Each decoder is a generator over the decompressed bytes, reading the
compressed ones with a ``read(n)`` function.  It raises Truncated when the
input ends inside a frame or stream, and Corrupt (or a codec's own error,
CODEC_ERRORS) when the input does not decode.  Concatenated frames or
streams (pzstd's, pigz's, pbzip2's) are read one after the other.

Run as a program (``python -P decoders.py zstd FILE``), it writes the
decompressed bytes to its standard output: compression.py reads a long trace
through such a child process, which decompresses on a core of its own
whatever the reader does meanwhile (a thread would wait for the GIL while a
compiled replay holds it).  The program imports nothing of kvsim's, so that
it starts in milliseconds; it exits 0 when the stream is whole, 3 when it is
truncated, 4 when it is corrupt (saying how on standard error).
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Generator
from typing import Protocol

BLOCK = 1 << 20  # at most this many decompressed bytes a step (zstd: about)
INPUT_STEP = 1 << 18  # compressed bytes fed to a decoder at a time (zstd adapts it)

EXIT_TRUNCATED, EXIT_CORRUPT = 3, 4


class Truncated(Exception):
    """The input ended inside a frame or stream."""


class Corrupt(Exception):
    """The input does not decode; the argument says how."""


# the codecs' own exceptions for data that does not decode (and a failing read of the file)
CODEC_ERRORS = (zlib.error, lzma.LZMAError, OSError, EOFError)


def zstd_frames(read: Callable[[int], bytes]) -> Generator[bytes, None, None]:
    """The decompressed bytes of the zstd frames read with `read`, one frame after the other."""
    import zstandard

    # Frames made with `zstd --long=31` need a 2 GiB window; the default limit is 128 MiB.
    maker = zstandard.ZstdDecompressor(max_window_size=1 << 31)
    decoder, inside, data, step = maker.decompressobj(), False, b"", INPUT_STEP
    while True:
        if not data:
            data = read(step)
            if not data:
                if inside:  # the input ended inside a frame
                    raise Truncated
                return
        inside = True
        try:
            out = decoder.decompress(data)
        except zstandard.ZstdError as error:
            raise Corrupt(str(error).removeprefix("zstd decompressor error: ")) from None
        data = b""
        if out:
            yield out
            # One call's output has no bound: feed less input while it compresses well.
            step = max(1024, min(INPUT_STEP, step * BLOCK // len(out)))
        if decoder.eof:
            data, decoder, inside = decoder.unused_data, maker.decompressobj(), False


class _Decoder(Protocol):
    """What bounded_frames uses of a zlib, lzma or bz2 decompressor."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, _max_length: int, /) -> bytes: ...


def bounded_frames(
    make: Callable[[], _Decoder], read: Callable[[int], bytes], padding: bool
) -> Generator[bytes, None, None]:
    """The decompressed bytes of a zlib-, lzma- or bz2-style decoder (`make` builds one per stream).

    These take a max_length, so one step's output is at most BLOCK bytes.
    With `padding`, zero bytes between or after the streams are skipped
    (xz's stream padding; gzip readers tolerate them too).
    """
    decoder, inside, data = make(), False, b""
    while True:
        if not data and getattr(decoder, "needs_input", True):  # lzma and bz2 may have output from the last
            data = read(INPUT_STEP)
            if not data:
                if inside:
                    out = decoder.flush() if hasattr(decoder, "flush") else b""  # zlib's last output
                    if out:
                        yield out
                    if not decoder.eof:
                        raise Truncated
                return
        if not inside:
            data = data.lstrip(b"\0") if padding else data
            if not data:
                continue
            inside = True
        out = decoder.decompress(data, BLOCK)
        data = getattr(decoder, "unconsumed_tail", b"")  # zlib hands back what it did not take; the others keep it
        if out:
            yield out
        if decoder.eof:
            data, decoder, inside = decoder.unused_data, make(), False


#: compression -> its decoder: the decompressed blocks of what `read` reads
DECODERS: dict[str, Callable[[Callable[[int], bytes]], Generator[bytes, None, None]]] = {
    "zstd": zstd_frames,
    "gzip": lambda read: bounded_frames(lambda: zlib.decompressobj(wbits=31), read, padding=True),
    "xz": lambda read: bounded_frames(lzma.LZMADecompressor, read, padding=True),
    "bz2": lambda read: bounded_frames(bz2.BZ2Decompressor, read, padding=False),
}


def said(error: BaseException) -> str:
    """A codec's message as part of a sentence: 'Invalid data stream' -> 'invalid data stream'."""
    text = str(error).strip() or type(error).__name__
    return text[0].lower() + text[1:]


def main(argv: list[str]) -> int:
    """Write the decompressed bytes of FILE (argv: COMPRESSION FILE) to standard output."""
    import os
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the reader's to handle: it stops this process
    compression, path = argv
    out = sys.stdout.buffer
    try:
        with open(path, "rb") as handle:
            for block in DECODERS[compression](handle.read):
                out.write(block)
        out.flush()
    except BrokenPipeError:  # the reader stopped early: nothing more to say
        os._exit(0)
    except Truncated:
        return EXIT_TRUNCATED
    except (Corrupt, *CODEC_ERRORS) as error:
        sys.stderr.write(said(error))
        return EXIT_CORRUPT
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
