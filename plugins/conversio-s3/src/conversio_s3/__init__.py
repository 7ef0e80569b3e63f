"""conversio-s3: every stored file and result in S3-compatible object storage (``s3://``)."""
