"""What link tracking's tests send: the tracker's key and the batch endpoint."""

TRACKING_KEY = "test-tracking-key"  # one of TEST_KEYS["TRACKING_API_KEYS"] in tests/support/keys.py
BATCH_PATH = "/api/tracking-ingest/batch"
