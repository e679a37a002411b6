package config

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pullsecret/pullsecret/internal/version"
)

// digestRef is an image named by digest: the refresher must run exactly the
// binary that installed it, which a tag cannot promise.
var digestRef = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:[.:][a-z0-9-]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+@sha256:[a-f0-9]{64}$`)

// EffectiveRefreshImage is refresh_image, else the image the release's
// action.yml says this step runs from (its args), else the image stamped
// into a released CLI, else "" (a build from source: refresh needs
// refresh_image). Never the environment, which earlier steps control.
func (c *Config) EffectiveRefreshImage() string {
	switch {
	case c.RefreshImage != "":
		return c.RefreshImage
	case c.releaseImage != "":
		return c.releaseImage
	}
	return version.Image
}

// RefreshSchedule is the CronJob schedule for refresh_interval. Cron fires
// on wall-clock minutes and hours, so only intervals that divide an hour or
// a day evenly keep every gap the same length.
func (c *Config) RefreshSchedule() (string, error) {
	d := c.RefreshInterval
	switch {
	case d < time.Minute || d%time.Minute != 0:
		return "", errorf(InRefreshInterval, "%s is not a whole number of minutes (at least 1m)", d)
	case d < time.Hour && time.Hour%d == 0:
		return fmt.Sprintf("*/%d * * * *", int(d/time.Minute)), nil
	case d == time.Hour:
		return "0 * * * *", nil
	case d%time.Hour == 0 && d < 24*time.Hour && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 */%d * * *", int(d/time.Hour)), nil
	}
	return "", errorf(InRefreshInterval, "%s does not divide an hour or a day evenly; use 1m, 2m, 5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h or 12h", d)
}

// validateRefresh checks the refresher's inputs. Delete mode only needs
// refresh_namespace: it removes what apply installed.
func (c *Config) validateRefresh() error {
	var errs []error
	if c.RefreshMode != RefreshCron && c.RefreshMode != RefreshWatch {
		errs = append(errs, errorf(InRefreshMode, "%q is not a refresh mode; use %s (a CronJob every %s) or %s (a Deployment that watches the cluster)", c.RefreshMode, RefreshCron, InRefreshInterval, RefreshWatch))
	}
	if !c.Refresh {
		// Asked for a refresher without installing one: say so rather
		// than ignore it.
		if c.RefreshMode == RefreshWatch {
			errs = append(errs, errorf(InRefreshMode, "is only used with %s: true (it chooses how the refresher runs)", InRefresh))
		}
		if c.RefreshRecoverPods {
			errs = append(errs, errorf(InRefreshRecoverPods, "is only used with %s: true and %s: %s (the watching refresher recovers the pods)", InRefresh, InRefreshMode, RefreshWatch))
		}
		return errors.Join(errs...)
	}
	for _, msg := range validation.IsDNS1123Label(c.RefreshNamespace) {
		errs = append(errs, errorf(InRefreshNamespace, "%q is not a valid namespace name: %s", c.RefreshNamespace, msg))
	}
	if c.Mode != ModeApply {
		return errors.Join(errs...)
	}
	if c.RefreshRecoverPods && c.RefreshMode == RefreshCron {
		errs = append(errs, errorf(InRefreshRecoverPods, "is only used with %s: %s: a CronJob's run cannot notice a stuck pod in time; set %s: %s, or remove %s", InRefreshMode, RefreshWatch, InRefreshMode, RefreshWatch, InRefreshRecoverPods))
	}
	if c.RefreshMode == RefreshWatch {
		// refresh_interval is not used: the watching refresher refreshes
		// at half of token_lifetime (Warnings says so when it was set).
	} else if _, err := c.RefreshSchedule(); err != nil {
		errs = append(errs, err)
	} else if c.RefreshInterval > c.TokenLifetime/2 {
		errs = append(errs, errorf(InRefreshInterval, "%s is more than half of %s (%s): a pod that starts just before a refresh would find an expired token", c.RefreshInterval, InTokenLifetime, c.TokenLifetime))
	}
	switch img := c.EffectiveRefreshImage(); {
	case img == "":
		errs = append(errs, errorf(InRefreshImage, "is required: this build of pullsecret has no release image baked in (built from source). Set it to the pullsecret image by digest, e.g. ghcr.io/pullsecret/pullsecret@sha256:…"))
	case !digestRef.MatchString(img):
		errs = append(errs, errorf(InRefreshImage, "%q must name the image by digest (REPOSITORY@sha256:<64 hex>), so that every refresh runs exactly this binary", img))
	}
	// On GKE (no refresh provider) the pod may use Workload Identity
	// Federation without a Google service account: the metadata server's
	// federated token is used as it is.
	if c.ServiceAccount == "" && c.RefreshWorkloadIdentityProvider != "" {
		errs = append(errs, errorf(InServiceAccount, "is required with %q: it is the Google service account the refresher impersonates", InRefreshWorkloadIdentityProvider))
	}
	if p := c.RefreshWorkloadIdentityProvider; p != "" && !providerPattern.MatchString(p) {
		errs = append(errs, errorf(InRefreshWorkloadIdentityProvider, "%q is not a provider resource name; expected projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", p))
	}
	if c.CredentialMode == CredentialJSONKey {
		errs = append(errs, errorf(InRefresh, "cannot be used with %s: json_key; the refresher is keyless and stores no key", InCredentialMode))
	}
	return errors.Join(errs...)
}
