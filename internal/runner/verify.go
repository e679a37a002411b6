package runner

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/registry"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

// ImageCheck is one verify_image outcome, for the log and the summary.
type ImageCheck struct {
	Image string
	Err   error
}

// verifyImages pull-checks every verify_image with the credential the
// secret is about to hold, before anything is written. All images are
// checked, so one run names every image that would not pull.
func verifyImages(ctx context.Context, cfg *config.Config, d Deps, w *writer, res *Result) error {
	if len(cfg.VerifyImages) == 0 {
		return nil
	}
	r := d.Reporter
	c := &registry.Checker{HTTP: d.HTTPClient}
	if m := testrig.Getenv(d.Getenv, registry.EnvTestMirror); m != "" {
		u, err := url.Parse(m)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("%s=%q is not an http(s) URL", registry.EnvTestMirror, m)
		}
		r.Warningf("%s is set: verify_image sends the credential to %s instead of each image's registry. This is for test rigs only.", registry.EnvTestMirror, u.Redacted())
		c.Mirror = u
	}
	r.Group(fmt.Sprintf("Checking that the credential pulls %d image(s)", len(cfg.VerifyImages)))
	defer r.EndGroup()
	var errs []error
	for _, img := range cfg.VerifyImages {
		ref, err := registry.ParseReference(img)
		if err == nil {
			err = c.Check(ctx, ref, w.cred)
		}
		res.ImageChecks = append(res.ImageChecks, ImageCheck{Image: img, Err: err})
		if err != nil {
			errs = append(errs, fmt.Errorf("input %q: %w", config.InVerifyImage, err))
			r.Warningf("verify_image: %s: failed", img)
			continue
		}
		r.Infof("verify_image: %s: ok (manifest readable as %s)", img, w.principal)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the credential does not pull every image of %q, so nothing was written:\n%w", config.InVerifyImage, err)
	}
	return nil
}

func (res *Result) verifyFailed() bool {
	for _, c := range res.ImageChecks {
		if c.Err != nil {
			return true
		}
	}
	return false
}
