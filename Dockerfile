# The driftbeat agent: `docker build -t driftbeat .`, then e.g.
#   docker run -v $PWD/driftbeat.yml:/etc/driftbeat/driftbeat.yml:ro -v /var/log/model:/logs:ro driftbeat
# Debian slim rather than Alpine: DuckDB's prebuilt binaries need glibc.

# Build stage: compile the TypeScript to dist/ with tsc (a dev dependency), drop the dev
# dependencies, then lay out the installed package in /app: the compiled modules at the paths of
# the sources (agent/, demo/), package.json, the production node_modules and the
# data files the agent reads (kibana/, rules/, demo/rules/). No TypeScript in the image.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY agent ./agent
COPY rules ./rules
COPY kibana ./kibana
COPY demo ./demo
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force
RUN mkdir -p /app/demo \
 && cp -r dist/. /app/ \
 && cp -r package.json node_modules kibana rules /app/ \
 && cp -r demo/rules /app/demo/

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# Named volumes mounted here start with this ownership, so the unprivileged user can write them.
RUN mkdir -p /logs /var/lib/driftbeat /etc/driftbeat \
 && chown node:node /logs /var/lib/driftbeat

USER node
EXPOSE 5066
# The compiled bin (dist/agent/cli/driftbeat.js in a checkout). --max-semi-space-size=1: see
# agent/cli/driftbeat.ts (less memory, same throughput).
ENTRYPOINT ["node", "--max-semi-space-size=1", "agent/cli/driftbeat.js"]
CMD ["run", "-c", "/etc/driftbeat/driftbeat.yml"]
