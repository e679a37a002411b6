package main

// Go's copy of the Mozilla CA roots, used only where the system provides
// none: the action image is the static binary alone (no base image, no
// /etc/ssl), yet must verify Google's and the API server's TLS.
import _ "golang.org/x/crypto/x509roots/fallback"
