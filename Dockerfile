# syntax=docker/dockerfile:1
# pullfix webhook image: `make image` (docker build -t $(IMAGE) .).
#
# build    installs every dependency and compiles src/ with tsc
# deps     installs the production dependencies only, from the same lockfile
# runtime  distroless Node.js 20: no shell, no package manager, runs as 65532

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module": without it node would load dist/ as CommonJS.
COPY --from=deps /app/package.json ./package.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER 65532:65532
# 8443: HTTPS admission webhook (/mutate). 8080: plain HTTP /healthz, /readyz, /metrics.
EXPOSE 8443 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli/main.js"]
