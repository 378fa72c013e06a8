"""The ``postgres`` connector: ADBC record batches (:mod:`.source`), the SQL it sends
(:mod:`.sql`) and how driver types become asset types (:mod:`.columns`)."""
