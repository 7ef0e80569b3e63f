"""Benchmarks: conversio side by side with the engines used directly (ratios, not timed tests)."""
