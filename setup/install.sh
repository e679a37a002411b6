#!/usr/bin/env bash
# Installs the pullsecret CLI of the release this action is pinned at
# (setup/action.yml runs it; tests run it directly).
#
# Inputs (environment):
#   PULLSECRET_SETUP_DIR     the action's directory: SHA256SUMS and VERSION, written into
#                            the release commit by scripts/release
#   PULLSECRET_DOWNLOAD_URL  base URL of the release assets; {version} is substituted
#   RUNNER_OS, RUNNER_ARCH   Linux|macOS|Windows, X64|ARM64 (set by every runner)
#   RUNNER_TEMP              install location; GITHUB_PATH, GITHUB_OUTPUT file commands
#
# The downloaded binary must match the pinned checksum, whoever serves it;
# on any mismatch nothing is installed and nothing is added to PATH.
set -euo pipefail

fail() { echo "::error title=pullsecret setup::$*" >&2; exit 1; }

dir=${PULLSECRET_SETUP_DIR:?PULLSECRET_SETUP_DIR is not set}
sums="$dir/SHA256SUMS"
if [ ! -f "$sums" ] || [ ! -f "$dir/VERSION" ]; then
  fail "this copy of the setup action pins no release ($sums is missing): use it from a release, e.g. uses: pullsecret/pullsecret/setup@v1, not from a branch"
fi
version=$(tr -d '[:space:]' < "$dir/VERSION")

case "${RUNNER_OS:-}" in
  Linux) os=linux ;;
  macOS) os=darwin ;;
  Windows) os=windows ;;
  *) fail "unsupported RUNNER_OS \"${RUNNER_OS:-}\" (Linux, macOS, Windows)" ;;
esac
case "${RUNNER_ARCH:-}" in
  X64) arch=amd64 ;;
  ARM64) arch=arm64 ;;
  *) fail "unsupported RUNNER_ARCH \"${RUNNER_ARCH:-}\" (X64, ARM64)" ;;
esac
asset="pullsecret_${os}_${arch}"
exe=pullsecret
if [ "$os" = windows ]; then asset+=.exe; exe+=.exe; fi

want=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$sums")
[[ $want =~ ^[0-9a-f]{64}$ ]] || fail "$sums has no checksum for $asset"

base=${PULLSECRET_DOWNLOAD_URL:?PULLSECRET_DOWNLOAD_URL is not set}
base=${base//\{version\}/$version}
dest="${RUNNER_TEMP:?RUNNER_TEMP is not set}/pullsecret-$version"
tmp=$(mktemp "${RUNNER_TEMP}/pullsecret-download.XXXXXX")
trap 'rm -f "$tmp"' EXIT

echo "Downloading $base/$asset"
curl -fsSL --retry 3 --proto '=https,http' -o "$tmp" "$base/$asset" || fail "download of $base/$asset failed"

if command -v sha256sum >/dev/null; then
  got=$(sha256sum "$tmp" | awk '{print $1}')
else
  got=$(shasum -a 256 "$tmp" | awk '{print $1}')
fi
if [ "$got" != "$want" ]; then
  fail "checksum mismatch for $asset from $base: got sha256 $got, the release pins $want; refusing to install it"
fi

mkdir -p "$dest/bin"
chmod 0755 "$tmp"
mv -f "$tmp" "$dest/bin/$exe"
trap - EXIT
echo "$dest/bin" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
{
  echo "path=$dest/bin/$exe"
  echo "version=$version"
} >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
echo "Installed pullsecret $version ($asset, sha256 $got) at $dest/bin"
