# The driftbeat agent: `docker build -t driftbeat .`, then e.g.
#   docker run -v $PWD/driftbeat.yml:/etc/driftbeat/driftbeat.yml:ro -v /var/log/model:/logs:ro driftbeat
# The TypeScript sources run through tsx (a runtime dependency), so there is no build step.
# Debian slim rather than Alpine: DuckDB's prebuilt binaries need glibc.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY agent ./agent
COPY rules ./rules
COPY kibana ./kibana
COPY demo ./demo
# The demo model's seeded generator (demo --write-only in docker-compose.yml).
COPY bench/generate.ts ./bench/generate.ts

# Named volumes mounted here start with this ownership, so the unprivileged user can write them.
RUN mkdir -p /logs /var/lib/driftbeat /etc/driftbeat \
 && chown node:node /logs /var/lib/driftbeat

USER node
EXPOSE 5066
ENTRYPOINT ["node", "agent/cli/driftbeat.js"]
CMD ["run", "-c", "/etc/driftbeat/driftbeat.yml"]
