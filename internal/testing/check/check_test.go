package check

import (
	"errors"
	"testing"
)

func TestErrDiff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		err   error
		wants []string
		match bool
	}{
		{
			name:  "nil wanted nil",
			match: true,
		},
		{
			name: "error wanted nil",
			err:  errors.New("boom"),
		},
		{
			name:  "nil wanted error",
			wants: []string{"boom"},
		},
		{
			name:  "all substrings",
			err:   errors.New(`input "mode": "x" is not one of apply, delete`),
			wants: []string{`"mode"`, "apply"},
			match: true,
		},
		{
			name:  "one substring missing",
			err:   errors.New(`input "mode": bad`),
			wants: []string{`"mode"`, "apply"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ErrDiff(tc.err, tc.wants...); (got == "") != tc.match {
				t.Errorf("ErrDiff(%v, %q) = %q, want match=%v", tc.err, tc.wants, got, tc.match)
			}
		})
	}
}

func TestLookupTellsUnsetFromEmpty(t *testing.T) {
	t.Parallel()
	l := Lookup(map[string]string{"EMPTY": ""})
	if v, ok := l("EMPTY"); !ok || v != "" {
		t.Errorf(`Lookup("EMPTY") = %q, %v; want "", true`, v, ok)
	}
	if _, ok := l("UNSET"); ok {
		t.Error(`Lookup("UNSET") reports set`)
	}
}
