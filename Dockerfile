# The Airflow image of docker-compose.yaml: the official apache/airflow 3.3.2 image plus
# airflow-provider-dativo with its `postgres` extra (the PostgreSQL source connector's driver).
# Python 3.11 is the Python constraints.txt was resolved on.
#
#   docker compose build            (or: docker build -t airflow-provider-dativo:0.1.0-airflow3.3.2 .)
#
# Pinning: every package the base image ships (Airflow, its providers, their dependencies) is
# passed to pip as a constraint at the version the image has, so installing the provider can
# never change Airflow. Packages the image lacks (pyiceberg, ...) get the versions of
# constraints.txt, the set the test suite runs with.
FROM apache/airflow:3.3.2-python3.11

USER root
# Mount points of docker-compose.yaml: named volumes start with the owner of these folders.
RUN mkdir -p /opt/airflow/config /opt/dativo/app /opt/dativo/data /opt/dativo/src \
 && chown -R airflow:0 /opt/airflow/config /opt/dativo \
 && chmod -R g+rwX /opt/airflow/config /opt/dativo
USER airflow

COPY --chown=airflow:0 pyproject.toml README.md constraints.txt /opt/dativo/src/
COPY --chown=airflow:0 airflow_provider_dativo /opt/dativo/src/airflow_provider_dativo

RUN pip freeze | grep '==' > /tmp/image-pins.txt \
 && awk -F'==' 'NR == FNR { n = tolower($1); gsub(/[-_.]+/, "-", n); have[n] = 1; next } \
                /==/ { n = tolower($1); gsub(/[-_.]+/, "-", n); if (!(n in have)) print }' \
        /tmp/image-pins.txt /opt/dativo/src/constraints.txt > /tmp/provider-pins.txt \
 && pip install --no-cache-dir -c /tmp/image-pins.txt -c /tmp/provider-pins.txt "/opt/dativo/src[postgres]" \
 && python -c "import airflow, airflow_provider_dativo; assert airflow.__version__ == '3.3.2', airflow.__version__" \
 && rm /tmp/image-pins.txt /tmp/provider-pins.txt

ENV DATIVO_APP_ROOT=/opt/dativo/app \
    DATIVO_HOME=/opt/dativo/data
