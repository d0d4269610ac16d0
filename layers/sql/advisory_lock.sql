-- Wait for the transaction-scoped advisory lock :key (released by commit or rollback).
SELECT pg_advisory_xact_lock(:key)
