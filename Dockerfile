# syntax=docker/dockerfile:1
# Build: docker build -t newsbot .
# Run:   docker run -d --name newsbot --env-file .env -v newsbot-data:/data newsbot

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Pure Go (modernc.org/sqlite): a static binary, no cgo.
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/newsbot/newsbot/articles.Version=${VERSION}" \
    -o /out/newsbot ./cmd/newsbot && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/newsbot /usr/local/bin/newsbot
# An empty /data owned by the non-root user: a new named volume takes its ownership.
COPY --from=build --chown=65532:65532 /out/data /data
# The database lives on a volume; HTTP_ADDR serves /healthz for the health check.
ENV DATABASE_URL=/data/newsbot.db \
    HTTP_ADDR=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
USER nonroot:nonroot
# A static image has no curl: the binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/newsbot", "health"]
ENTRYPOINT ["/usr/local/bin/newsbot"]
CMD ["run"]
