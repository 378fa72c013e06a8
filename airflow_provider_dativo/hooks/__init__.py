"""Hooks: how the provider reaches Airflow connections (a job's secrets)."""
