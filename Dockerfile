# CHUCS: the Changhong unified user center.
# Build: docker build -t chucs .
# Run:   docker run -p 3000:3000 -e NODE_ENV=production -e ISSUER=https://id.example.com -e TRUST_PROXY=true \
#          -e DATABASE_URL=postgres://... -e CHUCS_COOKIE_KEYS=... -e CHUCS_ENCRYPTION_KEY=... \
#          -e CHUCS_KEYS_FILE=/run/secrets/jwks.json -v /path/to/jwks.json:/run/secrets/jwks.json:ro chucs
# The sources are TypeScript run directly by Node 24 (type stripping): no build step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the image's own Node replaces the `node` dev dependency.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3000 CHUCS_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY config ./config
COPY migrations ./migrations
COPY src ./src
COPY views ./views
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: SIGTERM reaches Node, which drains requests before exiting.
CMD ["node", "src/main.ts"]
