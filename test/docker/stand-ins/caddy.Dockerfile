# STAND-IN for caddy:2 (see build.sh): Debian's caddy 2.6.2, with upstream's paths and command.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends caddy wget ca-certificates \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /config/caddy /data/caddy /etc/caddy /srv
LABEL org.voicecall.stand-in="Debian bookworm caddy 2.6.2 (older than caddy:2; drops directives newer than 2.6)"
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
COPY docker-entrypoint.sh /usr/local/bin/
VOLUME /config /data
WORKDIR /srv
EXPOSE 80 443 443/udp 2019
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
