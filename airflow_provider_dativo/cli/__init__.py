"""Command-line interfaces: the ``dativo`` console script and ``airflow dativo ...``."""
