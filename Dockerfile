# syntax=docker/dockerfile:1
# pullfix webhook image where a Docker engine runs: `make image IMAGE_BUILDER=docker`.
# `make image` builds the same filesystem layout without one (tools/build-image.sh).
#
# build    installs every dependency and compiles src/ with tsc
# deps     installs the production dependencies only, from the same lockfile
# runtime  distroless cc (glibc, libgcc, libstdc++, CA certificates, tzdata; no shell, no
#          package manager) with the official Node.js 24 LTS binary at /usr/local/bin/node,
#          the app under /app, owned by root, run as 65532
#
# Node.js 24.22.3 is also tools/build-image.sh's NODE_VERSION: bump both together.

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:24.22.3-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="pullfix" \
      org.opencontainers.image.source="https://github.com/pullfix/pullfix" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# The official binary, as in the daemonless image: it needs only glibc, libgcc and libstdc++.
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# package.json carries "type": "module": without it node would load dist/ as CommonJS.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER 65532:65532
# 8443: HTTPS admission webhook (/mutate). 8080: plain HTTP /healthz, /readyz, /metrics.
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/src/cli/main.js"]
