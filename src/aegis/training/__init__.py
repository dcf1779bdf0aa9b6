"""Training, evaluation and persistence of detectors: one task per detector kind, one model store."""
