package actions

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Workflow commands and file commands, written here rather than through
// go-githubactions, whose writers panic on any I/O error and whose
// multi-line delimiter is one fixed public string that a value can close
// early. The formats follow GitHub's documentation ("Workflow commands for
// GitHub Actions": escaping of %, \r and \n in command data; "Setting an
// output parameter" / multiline strings: name<<DELIMITER … DELIMITER, with
// a random delimiter as @actions/core writes it).

// escapeData escapes command data so a message cannot end its command or
// start another one.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// randomDelimiter is what @actions/core uses: ghadelimiter_ and a UUID's
// worth of randomness, fresh per command.
func randomDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return "ghadelimiter_" + hex.EncodeToString(b)
}

// keyValueCommand renders name<<DELIMITER\nvalue\nDELIMITER\n, refusing a
// name or value that could end the heredoc early.
func keyValueCommand(name, value, delim string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\r\n=<") {
		return "", fmt.Errorf("output name %q is not a plain name", name)
	}
	if strings.Contains(value, delim) || strings.Contains(name, delim) {
		return "", fmt.Errorf("output %q: the value contains the file-command delimiter; refusing to write it", name)
	}
	return name + "<<" + delim + "\n" + value + "\n" + delim + "\n", nil
}

// appendFile appends text to the file the runner named in env var envName.
func appendFile(envName, path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write to %s (%s): %w", envName, path, errors.Unwrap(err))
	}
	_, werr := f.WriteString(text)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("cannot write to %s (%s): %w", envName, path, err)
	}
	return nil
}
