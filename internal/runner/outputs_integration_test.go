//go:build integration

package runner

import "strings"

// output returns one output of GITHUB_OUTPUT, read as the runner reads it
// (name<<DELIMITER, value lines, DELIMITER; the delimiter is random).
func (r run) output(name string) (string, bool) {
	lines := strings.Split(r.outputs, "\n")
	for i, l := range lines {
		delim, ok := strings.CutPrefix(l, name+"<<")
		if !ok {
			continue
		}
		var val []string
		for _, v := range lines[i+1:] {
			if v == delim {
				return strings.Join(val, "\n"), true
			}
			val = append(val, v)
		}
	}
	return "", false
}
