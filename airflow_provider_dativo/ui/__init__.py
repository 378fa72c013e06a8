"""The Dativo view: a page and a JSON API inside the Airflow 3 UI (an Airflow plugin).

Layers, imported in this direction: :mod:`.plugin` (what Airflow loads) -> :mod:`.app` (the
FastAPI app at ``/dativo``) -> :mod:`.auth` (who asks, which DAGs they may read) and
:mod:`.summary` (the numbers) -> :mod:`.metadata` (the queries on Airflow's metadata database).
"""
