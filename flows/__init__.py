"""Prefect flows: only wiring; the business logic lives in migration/ and reconciliation/."""
