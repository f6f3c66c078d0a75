"""Rules as data: each table in one module, looked up by code, never an `if` per case."""
