package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/sirupsen/logrus"
)

// startInnerRegistry serves a plain, unauthenticated distribution registry on a
// random loopback port and returns its host:port. Only the auth proxy (and the
// seeder) talk to it; nothing outside this process can reach it.
func startInnerRegistry(ctx context.Context, dataDir string, verbose bool) (string, error) {
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	if dataDir != "" {
		cfg.Storage = configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": dataDir}}
	}
	cfg.Storage["delete"] = configuration.Parameters{"enabled": true}
	cfg.Log.AccessLog.Disabled = true
	cfg.HTTP.Secret = "fakegcr-inner-registry" // silences the random-secret warning; no HA here
	// distribution logs every request, and every 404 a push probes for as an
	// error; the proxy's own log line per request is enough unless debugging.
	logrus.SetLevel(logrus.FatalLevel)
	if verbose {
		logrus.SetLevel(logrus.InfoLevel)
	}

	app := handlers.NewApp(ctx, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return ln.Addr().String(), nil
}
