"""SaaS API connectors (stripe, hubspot) over one HTTP client that retries, honours
``Retry-After`` and counts calls; API records are flattened into asset columns by :mod:`.records`."""
