"""Airflow operators of the dativo provider."""
