"""What the migration, reconciliation, audit and flows share: errors, logging, engines, dialects, settings."""
