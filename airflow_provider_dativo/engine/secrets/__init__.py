"""A tenant's secrets: where they are stored (:mod:`.store`, :mod:`.files`), how settings name
them (:mod:`.refs`), how a run loads them (:mod:`.setup`) and how their values are masked in
everything a run says (:mod:`.redaction`)."""
