# STAND-IN for nats:2-alpine (see build.sh): Debian's nats-server; wget for the compose healthcheck.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nats-server wget ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && printf 'port: 4222\nmonitor_port: 8222\n' > /etc/nats-server.conf
LABEL org.voicecall.stand-in="Debian bookworm nats-server"
COPY docker-entrypoint.sh /usr/local/bin/
EXPOSE 4222 6222 8222
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["nats-server", "--config", "/etc/nats-server.conf"]
