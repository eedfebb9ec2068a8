# STAND-IN for redis:7-alpine (see build.sh): Debian's redis-server 7 (redis-cli for the healthcheck).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* && mkdir /data && chown redis:redis /data
LABEL org.voicecall.stand-in="Debian bookworm redis-server"
COPY docker-entrypoint.sh /usr/local/bin/
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
