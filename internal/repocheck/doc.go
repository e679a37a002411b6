// Package repocheck holds only tests: checks of the repository itself rather
// than of a package's behaviour. The licence and policy files exist, Markdown
// links and anchors resolve, Dependabot lists every Go module, workflows pin
// their actions and grant least privilege, go.mod stays installable, every
// error the shipped binary can print is quoted in docs/TROUBLESHOOTING.md, and
// the documents name the upstream versions tools/upstream pins.
package repocheck
