"""Everything that touches Iceberg: the catalog, the target table, sinks per write mode, the one
commit of a run, first-load creation, schema evolution, run state, quarantine and maintenance.

This subpackage is the only place that imports pyiceberg; the private pyiceberg calls the
engine needs are fenced in :mod:`._pyiceberg`, which checks the installed version.
"""
