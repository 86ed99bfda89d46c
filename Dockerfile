# syntax=docker/dockerfile:1.7
# The Horde image: the CLI, its production dependencies and every scenario of the commit. One image serves the
# master Job and the worker Job (manifests/base); `horde` is the entrypoint, the manifests pass the command.
#
#   docker build -t horde:$(git rev-parse --short HEAD) --build-arg REVISION=$(git rev-parse HEAD) .
#
# Node 22 is a supported LTS line (Node 20 reached its end of life in April 2026); the code also runs on 20.
ARG NODE_IMAGE=docker.io/library/node:22-slim

FROM ${NODE_IMAGE} AS build
# Lets a builder find and prune this stage's leftover image (the test suite does).
LABEL horde.dev/stage=build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay off: every native dependency (zeromq, msgpackr-extract, esbuild) ships a prebuilt binary,
# and the build below is run explicitly. The optional npm-ca secret is only for registries behind a TLS
# proxy (the test suite's build); a normal build passes nothing.
RUN --mount=type=secret,id=npm-ca sh -c '[ -f /run/secrets/npm-ca ] && export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; npm ci --ignore-scripts --no-audit --no-fund'
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY report ./report
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG REVISION=unknown
ARG SOURCE=https://github.com/horde-dev/horde
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="horde" \
      org.opencontainers.image.description="Distributed load testing in TypeScript over Locust's wire protocol" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
# Writes go to /out (a volume: the root filesystem is read-only in the manifests) and /tmp (an emptyDir).
ENV NODE_ENV=production \
    HORDE_OUT=/out \
    HORDE_IMAGE_REVISION=${REVISION}
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY report/templates ./report/templates
COPY scenarios ./scenarios
# Scenarios are TypeScript loaded through tsx at start (its cache goes to /tmp); their `import 'horde'` resolves
# to this package by self-reference (package.json name + exports).
RUN ln -s /app/bin/horde.js /usr/local/bin/horde \
    && mkdir -p /out && chown 1000:1000 /out
# The official node images have user node = 1000; a numeric USER lets Kubernetes check runAsNonRoot.
USER 1000:1000
VOLUME ["/out"]
# Node is PID 1: it gets SIGTERM itself (no shell in between), and the master turns it into a graceful stop
# that still writes the result and exits with the verdict's code.
ENTRYPOINT ["node", "/app/bin/horde.js"]
CMD ["--help"]
