# syntax=docker/dockerfile:1

# The steps image: stepsd (the server, the entrypoint) and stepsctl (the
# client), static pure-Go binaries on distroless, running as a non-root user.
#
#   docker build -t ghcr.io/steps-dev/stepsd:dev --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -p 8080:8080 -v steps-data:/data ghcr.io/steps-dev/stepsd:dev
#
# See docs/docker.md.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
WORKDIR /src

# Modules first, so that a change of source does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# CGO_ENABLED=0: the SQLite driver is pure Go, so the binaries are static and
# run on an image with no C library.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/stepsd ./cmd/stepsd && \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/stepsctl ./cmd/stepsctl

# The final image has no shell to mkdir with: the data directory is made here
# and copied with the non-root owner.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="stepsd" \
      org.opencontainers.image.description="Records every step of every deploy and answers how long deploys take" \
      org.opencontainers.image.source="https://github.com/steps-dev/steps" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/stepsd /usr/local/bin/stepsd
COPY --from=build /out/stepsctl /usr/local/bin/stepsctl
COPY --from=build --chown=65532:65532 /out/data /data

# SQLite in the /data volume unless STEPSD_DB says otherwise (mysql://…).
ENV STEPSD_DB=sqlite:/data/steps.db \
    STEPSD_LISTEN=:8080
VOLUME ["/data"]
WORKDIR /data

# nonroot (65532) of the distroless image, numeric so that Kubernetes'
# runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8080

# No shell or curl in this image: stepsd asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/stepsd", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/stepsd"]
