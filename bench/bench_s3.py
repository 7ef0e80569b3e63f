"""The S3 store: a 100 MB result put and got back through ``s3://`` vs boto3's own transfer.

    python -m bench.bench_s3 [--size-mb 100] [--rounds 3]

Both sides talk to the same local S3-compatible server (moto's, in its own process, on
127.0.0.1) and move the same file. The store's put also hashes the file and writes its
reference and metadata; its get reads the metadata first. Each put is of content the bucket
does not hold (the previous round's artifact is deleted), so no round is spared by
deduplication. Goal (issue 19): the store within 1.10× of boto3.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import uuid
from pathlib import Path

from bench.common import filesystem_of, median_of, write_report

MiB = 1 << 20
BUCKET = "conversio-bench"


def write_file(path: Path, size: int) -> None:
    """``size`` bytes that do not repeat (so nothing on the way compresses or dedups them)."""
    seed = os.urandom(16)
    with path.open("wb") as out:
        for i in range(0, size, MiB):
            block = hashlib.shake_256(seed + i.to_bytes(8, "big")).digest(min(MiB, size - i))
            out.write(block)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import boto3
    from conversio_s3.store import S3Store
    from conversio_s3.testing import TEST_ENVIRONMENT, local_s3_server

    os.environ.update(TEST_ENVIRONMENT)
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as work, local_s3_server() as endpoint:
        folder = Path(work)
        source, fetched = folder / "result.bin", folder / "fetched.bin"
        write_file(source, args.size_mb * MiB)
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        store = S3Store.from_url(f"s3://{BUCKET}/store?endpoint={endpoint}&path_style=1")
        stored: list[str] = []

        def store_put() -> None:
            for artifact_id in stored:  # the previous round's: the next put uploads in full again
                store.delete(artifact_id)
            stored[:] = [store.put_file(source, name="result.bin", format="bin").id]

        def store_get() -> None:
            with store.local_path(stored[-1]) as path:
                assert path.stat().st_size == source.stat().st_size

        def store_stream() -> None:
            with store.open(stored[-1]) as stream:
                while stream.read(MiB):
                    pass

        def boto3_put() -> None:
            client.upload_file(str(source), BUCKET, f"plain/{uuid.uuid4().hex}")

        def boto3_get() -> None:
            client.download_file(BUCKET, "plain/got", str(fetched))
            fetched.unlink()

        puts = median_of({"store": store_put, "boto3": boto3_put}, args.rounds)
        client.upload_file(str(source), BUCKET, "plain/got")
        gets = median_of({"store": store_get, "stream": store_stream, "boto3": boto3_get}, args.rounds)

    mb = args.size_mb
    rows = [
        ["put", "store.put_file", "client.upload_file", *_figures(puts["store"], puts["boto3"], mb)],
        ["get", "store.local_path", "client.download_file", *_figures(gets["store"], gets["boto3"], mb)],
        [
            "get (stream)",
            "store.open().read()",
            "client.download_file",
            *_figures(gets["stream"], gets["boto3"], mb),
        ],
    ]
    write_report(
        "s3",
        f"S3 store: a {mb} MB result through s3:// vs boto3's own transfer",
        [
            "operation",
            "conversio",
            "boto3",
            "conversio s",
            "boto3 s",
            "MB/s (conversio)",
            "ratio (goal ≤ 1.10×)",
        ],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds; the same {mb} MB file of random bytes, the same "
            f"moto server on 127.0.0.1 in its own process; local files on {filesystem_of(Path(work))}.",
            "The store's put also hashes the file (content addressing) and writes a reference and the "
            "metadata; its get first reads the metadata. Parts of 8 MiB, 8 at once (boto3: 8 MiB, 10).",
            "moto keeps objects in memory and is itself the slow side: absolute MB/s say more about it "
            "than about S3; the ratio is the figure.",
        ],
    )


def _figures(ours: float, theirs: float, mb: int) -> list[str]:
    return [f"{ours:.2f}", f"{theirs:.2f}", f"{mb / ours:.0f}", f"{ours / theirs:.2f}×"]


if __name__ == "__main__":
    main()
