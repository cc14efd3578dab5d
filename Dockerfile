# The driftbeat agent: `docker build -t driftbeat .`, then e.g.
#   docker run -v $PWD/driftbeat.yml:/etc/driftbeat/driftbeat.yml:ro -v /var/log/model:/logs:ro driftbeat
# Debian slim rather than Alpine: DuckDB's prebuilt binaries need glibc.

# Build stage: compile the TypeScript to dist/ (agent/cli/build.mjs needs the dev dependencies),
# then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY agent ./agent
COPY rules ./rules
COPY kibana ./kibana
COPY demo ./demo
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# Named volumes mounted here start with this ownership, so the unprivileged user can write them.
RUN mkdir -p /logs /var/lib/driftbeat /etc/driftbeat \
 && chown node:node /logs /var/lib/driftbeat

USER node
EXPOSE 5066
# --max-semi-space-size=4: see agent/cli/driftbeat.js (less memory, same throughput).
ENTRYPOINT ["node", "--max-semi-space-size=4", "agent/cli/driftbeat.js"]
CMD ["run", "-c", "/etc/driftbeat/driftbeat.yml"]
