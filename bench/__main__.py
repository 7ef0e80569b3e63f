"""``python -m bench``: every benchmark, one after the other (see each module for options)."""

from bench import (
    bench_chromium,
    bench_hosts,
    bench_image_overhead,
    bench_jobs,
    bench_media,
    bench_ocr,
    bench_office,
    bench_pandoc,
    bench_pdf,
    bench_pdf2docx,
    bench_queue,
    bench_router,
    bench_s3,
    bench_server,
    bench_server_chain,
    bench_startup,
)

for module in (
    bench_startup,
    bench_router,
    bench_image_overhead,
    bench_pdf,
    bench_office,
    bench_media,
    bench_chromium,
    bench_pandoc,
    bench_pdf2docx,
    bench_ocr,
    bench_server,
    bench_server_chain,
    bench_jobs,
    bench_queue,
    bench_hosts,
    bench_s3,
):
    print(f"\n== {module.__name__} ==")
    module.main([])
