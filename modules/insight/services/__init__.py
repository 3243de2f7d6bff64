"""Business logic of the Insight domain: one module per area, each call one transaction."""
