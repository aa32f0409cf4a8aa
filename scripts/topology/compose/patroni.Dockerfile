# PostgreSQL 15 under Patroni for docker-compose.ha.yml: the postgres image (Debian bookworm) with
# the distribution's patroni 3.0 and its etcd client. Patroni is PID 1's child and runs postgres.
FROM postgres:15
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends patroni python3-etcd curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/patroni && chown postgres /var/lib/postgresql/patroni
COPY patroni.yml /etc/patroni.yml
COPY patroni-post-bootstrap.sh /usr/local/bin/patroni-post-bootstrap.sh
USER postgres
EXPOSE 5432 8008
ENTRYPOINT ["patroni", "/etc/patroni.yml"]
