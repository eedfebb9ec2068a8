# STAND-IN for node:20-bookworm-slim (see build.sh): the build machine's Node 20, npm and corepack on debian:bookworm-slim.
FROM debian:bookworm-slim
ARG NODE_VERSION
LABEL org.voicecall.stand-in="node ${NODE_VERSION} of the build machine on debootstrapped bookworm"
ENV NODE_VERSION=${NODE_VERSION}
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY corepack /usr/local/lib/node_modules/corepack
COPY docker-entrypoint.sh /usr/local/bin/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack \
 && node --version && npm --version
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
