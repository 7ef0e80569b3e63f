"""``python -m bench``: every benchmark, one after the other (see each module for options)."""

from bench import bench_image_overhead, bench_media, bench_office, bench_pdf, bench_router, bench_startup

for module in (bench_startup, bench_router, bench_image_overhead, bench_pdf, bench_office, bench_media):
    print(f"\n== {module.__name__} ==")
    module.main([])
