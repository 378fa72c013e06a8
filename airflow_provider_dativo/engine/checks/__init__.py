"""Checks on record batches, in Arrow only: the asset's types (casting), its rules (validation),
the incremental cursor and merge keys. Nothing here knows Iceberg or where records come from."""
