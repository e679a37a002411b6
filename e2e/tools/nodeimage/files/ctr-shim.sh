#!/bin/bash
# /usr/local/bin/ctr in the node: adapts Debian's containerd 1.6 ctr to the two
# calls kind v0.30 makes that only exist from containerd 1.7 on.
#  - `ctr info`: kind's readiness probe while building the node image -> `ctr version`.
#  - `ctr images import --label=K=V …`: 1.6 has no --label; the only label kind
#    sets (io.cri-containerd.pinned) means nothing to 1.6's CRI, so it is dropped.
real=/usr/bin/ctr
args=()
sub=""
for a in "$@"; do
  if [ -z "$sub" ] && [[ "$a" != -* ]]; then sub=$a; fi
  case "$a" in
    --label=*) ;;
    *) args+=("$a") ;;
  esac
done
if [ "$sub" = info ]; then
  exec "$real" version
fi
exec "$real" "${args[@]}"
