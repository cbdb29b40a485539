# Shoebox container image.
#
#   docker build -t shoebox .
#   docker run --rm -p 127.0.0.1:8080:8080 \
#     -e DATABASE_URL=postgres://USER:PASS@HOST:5432/DB?sslmode=disable \
#     -v /path/to/photos:/photos:ro -v shoebox-data:/data shoebox
#
# docker-compose.yml runs it next to PostgreSQL with pgvector. The image has
# no PostgreSQL server: in a container Shoebox always talks to one named by
# DATABASE_URL (the embedded cluster of `shoebox serve` is for bare metal).

# --- build ----------------------------------------------------------------
# Same Debian release as the runtime stage, so the binary links against the
# libvips (8.14, soname libvips.so.42) that libvips42 installs there.
FROM golang:1.26-bookworm AS build

# libvips-dev brings the headers and the pkg-config file that the cgo
# directive in internal/media/vips.go (`#cgo pkg-config: vips`) needs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Modules first: this layer stays cached while only source files change.
COPY go.mod go.sum ./
RUN go mod download

# Only what the binary is built from (templates, static files and migrations
# are embedded from internal/ with go:embed).
COPY cmd ./cmd
COPY internal ./internal

RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/shoebox ./cmd/shoebox

# --- runtime --------------------------------------------------------------
FROM debian:bookworm-slim

# libvips42 is the runtime library only (no headers, no compiler); its
# dependencies bring the JPEG/PNG/WebP/TIFF/HEIF decoders. ca-certificates
# lets DATABASE_URL use sslmode=verify-full against a managed PostgreSQL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips42 ca-certificates ffmpeg \
 && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid, so volume ownership is predictable and
# orchestrators that demand a non-root user (runAsNonRoot) accept the image.
# /data is created owned by it: a new named volume mounted there copies that
# ownership, so Shoebox can write thumbnails and previews. /photos is only
# read (mount it read-only); its files must be readable by uid 10001.
RUN groupadd --system --gid 10001 shoebox \
 && useradd --system --uid 10001 --gid shoebox --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin shoebox \
 && mkdir -p /data /photos /uploads \
 && chown shoebox:shoebox /data /uploads

COPY --from=build /out/shoebox /usr/local/bin/shoebox

USER 10001:10001
WORKDIR /data

EXPOSE 8080

# `docker run IMAGE index`, `... stats` or `... doctor` run other subcommands.
ENTRYPOINT ["shoebox"]
# 0.0.0.0: inside the container; publish the port on 127.0.0.1 (as
# docker-compose.yml does) or behind a reverse proxy, not on every address.
# Listening on 0.0.0.0 needs an account (`... user add NAME --admin
# --password-stdin --data /data`): serve refuses to start without one.
CMD ["serve", "--addr", "0.0.0.0:8080", "--library", "/photos", "--data", "/data"]
