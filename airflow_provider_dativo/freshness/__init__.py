"""Freshness promises: a schedule's ``freshness_minutes`` becomes an Airflow deadline alert.

:mod:`.deadline` builds the alert (at parse time, from plain data); :mod:`.callback` is what
Airflow's triggerer runs when a DAG run misses it.
"""
