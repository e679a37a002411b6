// Command fakegcr is a stand-in for gcr.io / Artifact Registry (*-docker.pkg.dev)
// for the e2e suite: one static binary with
//
//   - a real OCI registry (distribution/v3, in-process, no auth) on a loopback port;
//   - in front of it, on the public address, GCR's Docker token auth: a token
//     service at /v2/token that accepts the same Basic credentials GCR does
//     (oauth2accesstoken:<access token>, _json_key:<key json>,
//     _json_key_base64:<base64 key json>) and checks them against a fake Google
//     over HTTP (tokeninfo / service-account x509 metadata), and a reverse proxy
//     that only lets /v2/ requests with a valid registry token through.
//
// With -seed it pushes a tiny runnable busybox image under the given names at
// startup, straight into the inner registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		addr        = flag.String("addr", ":5000", "public listen address (token service + authenticated registry)")
		google      = flag.String("google", os.Getenv("FAKEGCR_GOOGLE"), "base URL of the (fake) Google APIs serving /tokeninfo and /service_accounts/v1/metadata/x509/{email} (env FAKEGCR_GOOGLE)")
		dataDir     = flag.String("data", "", "registry storage directory (default: in memory)")
		tokenTTL    = flag.Duration("token-ttl", time.Hour, "lifetime of issued registry tokens (capped by the access token's own expiry)")
		tokenPost   = flag.String("token-post", postNotFound, `answer to POST /v2/token (OAuth2 password grant): "404" as gcr.io does (clients fall back to GET), or "accept"`)
		seed        = flag.String("seed", "", "comma-separated repo:tag list to push a busybox image to at startup, e.g. e2e-proj/private/app:v1,e2e-proj/app:v1")
		verbose     = flag.Bool("v", false, "log the inner registry's own request log too")
		seedBusybox = flag.String("seed-busybox", "/bin/busybox", "static busybox binary the seed image is made of")
	)
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	if *google == "" {
		log.Fatal("fakegcr: -google (or FAKEGCR_GOOGLE) is required")
	}
	if *tokenPost != postNotFound && *tokenPost != postAccept {
		log.Fatalf("fakegcr: -token-post must be %q or %q", postNotFound, postAccept)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	inner, err := startInnerRegistry(ctx, *dataDir, *verbose)
	if err != nil {
		log.Fatalf("fakegcr: %v", err)
	}
	log.Printf("fakegcr: inner registry on %s", inner)

	if *seed != "" {
		for _, ref := range strings.Split(*seed, ",") {
			ref = strings.TrimSpace(ref)
			if ref == "" {
				continue
			}
			digest, err := pushSeedImage(ctx, inner, ref, *seedBusybox)
			if err != nil {
				log.Fatalf("fakegcr: seeding %s: %v", ref, err)
			}
			log.Printf("fakegcr: seeded %s@%s", ref, digest)
		}
	}

	srv := &server{
		google:    newGoogleClient(*google),
		tokens:    newTokenStore(),
		tokenTTL:  *tokenTTL,
		tokenPost: *tokenPost,
		inner:     inner,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("fakegcr: %v", err)
	}
	hs := &http.Server{Handler: srv.handler(), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdownCtx)
	}()
	// The suite waits for this line (or polls /v2/ for a 401) before using the registry.
	fmt.Printf("fakegcr: listening on %s (google %s)\n", ln.Addr(), *google)
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("fakegcr: %v", err)
	}
}
