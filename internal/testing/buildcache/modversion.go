package buildcache

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RequiredVersion is the version the go.mod in moduleDir requires of
// module: a pinned module's go.mod is the one place its upstream's version
// is written, and everything else reads it from there.
func RequiredVersion(moduleDir, module string) (string, error) {
	path := filepath.Join(moduleDir, "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the pinned module: %w", err)
	}
	inBlock := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.SplitN(line, "//", 2)[0])
		switch {
		case len(f) == 2 && f[0] == "require" && f[1] == "(":
			inBlock = true
		case inBlock && len(f) == 1 && f[0] == ")":
			inBlock = false
		case len(f) == 3 && f[0] == "require" && f[1] == module:
			return f[2], nil
		case inBlock && len(f) == 2 && f[0] == module:
			return f[1], nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", path, module)
}
