package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

// maxResultLen bounds the last-result annotation (annotations are limited
// to 256 KiB in all, and a human reads this one).
const maxResultLen = 1024

// RunRefresher is one refresher run: it reads its settings from the
// ConfigMap, authenticates with Application Default Credentials (the
// external_account file the pod mounts, whose subject token is the
// projected ServiceAccount token, or the GKE metadata server), rewrites the
// secrets with the same namespace selection, and records the outcome on the
// ConfigMap: status annotations always, an Event on failure.
//
// ns is the refresher's namespace (its ConfigMap is refresher.Name there);
// internal/cli parses it from the refresh command's --config-map.
func RunRefresher(ctx context.Context, ns string, d Deps) error {
	name := refresher.Name
	d.defaults()
	boot, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	conn, err := connect(boot, d)
	if err != nil {
		return err
	}
	c := conn.Client
	cm, err := installedRefresher(ctx, c, ns)
	if err != nil {
		return err
	}
	if cm == nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s does not exist: the refresher was removed (mode: delete with refresh: true) while this Job ran, or was never installed", ns, name)
	}
	inputs, err := refresher.InstalledInputs(cm)
	if err != nil {
		return err
	}
	cfg, err := config.Load(func(n string) (string, bool) { v, ok := inputs[n]; return v, ok },
		config.SkipMissingNamespaces(), config.AllowHTTPEndpoints(testrig.Getenv(d.Getenv, config.EnvAllowHTTPEndpoints) == "true"))
	if err != nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s holds invalid settings:\n%w", ns, name, err)
	}
	res, runErr := Run(ctx, cfg, d)
	now := d.Now().UTC()
	status := map[string]string{}
	if runErr == nil {
		status[labels.LastSuccess] = now.Format(time.RFC3339)
		status[labels.ExpiresAt] = formatExpiry(res.ExpiresAt)
		status[labels.LastResult] = fmt.Sprintf("refreshed %d namespace(s) at %s", len(res.Succeeded()), now.Format(time.RFC3339))
	} else {
		msg := runErr.Error()
		if len(msg) > maxResultLen {
			msg = msg[:maxResultLen] + "…"
		}
		status[labels.LastResult] = "failed at " + now.Format(time.RFC3339) + ": " + msg
		// Keep what the last success recorded.
		for _, k := range []string{labels.LastSuccess, labels.ExpiresAt} {
			if v := cm.Annotations[k]; v != "" {
				status[k] = v
			}
		}
	}
	var recordErr error
	if err := c.ApplyObject(ctx, refresher.Status(ns, status), refresher.StatusFieldManager, false); err != nil {
		recordErr = fmt.Errorf("failed to record the refresher's status on ConfigMap %s/%s: %w", ns, name, err)
	}
	if runErr != nil {
		if err := c.CreateEvent(ctx, refresher.FailureEvent(cm, "RefreshFailed", status[labels.LastResult], now)); err != nil {
			recordErr = errors.Join(recordErr, fmt.Errorf("failed to record an event on ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err))
		}
	}
	return errors.Join(runErr, recordErr)
}
