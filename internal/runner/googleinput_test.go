package runner

import (
	"testing"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/googleauth"
)

// Every field googleauth can name in an error or hint is spelled as an
// input that exists.
func TestGoogleInputNamesEveryField(t *testing.T) {
	known := map[string]bool{}
	for _, in := range config.Inputs {
		known[in.Name] = true
	}
	for _, f := range googleauth.Fields {
		if n := googleInputNames[f]; !known[n] {
			t.Errorf("googleauth field %s is spelled %q, which is not an input", f, n)
		}
	}
}
