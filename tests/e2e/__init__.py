"""End-to-end tests on a real Airflow (PostgreSQL, api-server, scheduler, dag-processor)."""
