//! IDs: Snowflake, UUIDv7, worker IDs (see issue 3).
