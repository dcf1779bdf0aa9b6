"""Ingestion: event files in, validated records stored, bad rows rejected with line, field and reason."""

from aegis.ingest.pipeline import IngestError, IngestResult, Reject, ingest_file, validate_rows

__all__ = ["IngestError", "IngestResult", "Reject", "ingest_file", "validate_rows"]
