"""conversio's HTTP service: the native ``/v1`` API and ConvertAPI wire compatibility."""
