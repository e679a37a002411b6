# The action's image as main builds it for `uses: ./` (self-tests of the code
# under review). Releases do not use this file: scripts/release assembles the
# same image reproducibly (tools/release) and the release commit's action.yml
# runs it by digest. Like the release image it has no base: a static binary
# with Go's embedded CA roots (main.go) needs nothing else.
# GO_IMAGE is a build argument so air-gapped builders can use a mirror. Its
# default is pinned by digest (a tag can be re-pushed under us) at go.mod's
# toolchain; dependabot (docker) proposes the bumps.
ARG GO_IMAGE=golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is cached until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY *.go ./
COPY internal/ internal/
# --version prints these; the release workflow passes the tag, the commit
# and its time (the build context has no .git to read them from).
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w \
        -X github.com/pullsecret/pullsecret/internal/version.Version=${VERSION} \
        -X github.com/pullsecret/pullsecret/internal/version.Commit=${COMMIT} \
        -X github.com/pullsecret/pullsecret/internal/version.Date=${DATE}" \
      -o /out/pullsecret . && \
    mkdir -m 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
# Root on purpose: GitHub mounts the workspace and file-command files owned
# by the runner user, and docker actions must be able to write them.
USER 0:0
ENTRYPOINT ["/pullsecret"]
