"""The engine: runs plans of converter steps over stored artifacts."""
