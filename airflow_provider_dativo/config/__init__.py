"""Configuration of a dativo deployment: runner.yaml, job files and assets, as pydantic models.

Nothing here imports Airflow, so the same models serve ``dativo run`` without a scheduler.
"""
