package googleauth

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Google's refusals that need a fix other than the obvious one. Errors from
// x/oauth2 carry Google's body only as text, so they are read from the text;
// the hand-written IAM client's are typed (apiError).
var (
	serviceDisabledRE = regexp.MustCompile(`"reason":\s*"SERVICE_DISABLED"`)
	serviceRE         = regexp.MustCompile(`"service":\s*"([a-z0-9.-]+)"`)
	consumerRE        = regexp.MustCompile(`"consumer":\s*"projects/([A-Za-z0-9:.-]+)"`)
)

// serviceDisabledError is Google's 403 for an API not enabled in the
// project: no grant fixes it.
type serviceDisabledError struct {
	service, project string
	err              error
}

func (e *serviceDisabledError) Error() string {
	return fmt.Sprintf("Google API %s is not enabled in project %s: enable it (gcloud services enable %s --project=%s), wait a minute and retry; no role grant fixes this (see docs/TROUBLESHOOTING.md#google-api-not-enabled): %v",
		e.service, e.project, e.service, e.project, e.err)
}

func (e *serviceDisabledError) Unwrap() error { return e.err }

// asServiceDisabled returns err as a serviceDisabledError when Google said
// SERVICE_DISABLED, else nil.
func asServiceDisabled(err error) *serviceDisabledError {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Reason == "SERVICE_DISABLED" {
		return &serviceDisabledError{service: orUnknown(ae.Service), project: orUnknown(ae.Consumer), err: err}
	}
	text := err.Error()
	if !serviceDisabledRE.MatchString(text) {
		return nil
	}
	e := &serviceDisabledError{service: "unknown", project: "unknown", err: err}
	if m := serviceRE.FindStringSubmatch(text); m != nil {
		e.service = m[1]
	}
	if m := consumerRE.FindStringSubmatch(text); m != nil {
		e.project = m[1]
	}
	return e
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// subjectTooLong reports STS's refusal of a mapped google.subject over 127
// bytes: GitHub's sub claim grows with branch and environment names.
func subjectTooLong(err error) bool {
	return err != nil && strings.Contains(err.Error(), "google.subject exceeds the 127 bytes limit")
}

// subjectTooLongHint is the fix for subjectTooLong.
const subjectTooLongHint = "the provider's attribute mapping makes google.subject longer than Google's 127-byte limit (GitHub's sub claim grows with branch and environment names): map google.subject to a bounded value, e.g. google.subject=assertion.repository_id+'/'+assertion.run_id+'/'+assertion.run_attempt (see docs/iam-setup.md and docs/TROUBLESHOOTING.md#google-subject-too-long)"

// propagationHint is added to every refused impersonation: IAM changes
// apply after a delay, so a first run right after the grant is refused.
const propagationHint = "if the role was granted in the last few minutes, retry shortly: IAM changes take up to about 7 minutes to apply"

// permissionDenied reports IAM's refusal of generateAccessToken.
func permissionDenied(err error) bool {
	return err != nil && strings.Contains(err.Error(), "iam.serviceAccounts.getAccessToken' denied")
}
