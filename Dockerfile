# The action's image: a static binary on distroless. Base images are build
# arguments so air-gapped builders can point them at a mirror.
ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:latest

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is cached until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY main.go ./
COPY internal/ internal/
# --version prints these; the release workflow passes the tag, the commit
# and its time (the build context has no .git to read them from).
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" -o /out/pullsecret .

FROM ${BASE_IMAGE}
COPY --from=build /out/pullsecret /pullsecret
# Root on purpose: GitHub mounts the workspace and file-command files owned
# by the runner user, and docker actions must be able to write them.
USER 0:0
ENTRYPOINT ["/pullsecret"]
