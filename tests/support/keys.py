"""Keys the tests authenticate with: obvious test values, never real credentials."""

TEST_KEYS = {
    "SECRET_KEY": "test-secret-key-for-signing",
    "TRACKING_API_KEYS": "test-tracking-key,test-tracking-key-old",
    "INGEST_KEY": "test-ingest-key",
    "FASTCORE_SITE_INGEST_TOKEN": "test-site-token",
    "FASTCORE_ADMIN_TOKEN": "test-admin-token",
}
