-- Empty the listed tables and reset their identities (tests only).
TRUNCATE ${tables} RESTART IDENTITY CASCADE
