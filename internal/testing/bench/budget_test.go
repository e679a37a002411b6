package main

import (
	"strings"
	"testing"
)

func TestCheckBudget(t *testing.T) {
	t.Parallel()
	within := row{N: 10, First: measure{Total: 23}, Rerun: measure{Total: 13}, FirstMints: 1, RerunMint: 1}
	for _, tc := range []struct {
		name    string
		mutate  func(*row)
		wantErr string
	}{
		{name: "today's counts pass", mutate: func(*row) {}},
		{name: "a GET per namespace on the first run", mutate: func(r *row) { r.First.Total = 33 }, wantErr: "first run made 33 API requests"},
		{name: "a read per namespace on the re-run", mutate: func(r *row) { r.Rerun.Total = 23 }, wantErr: "re-run made 23 API requests"},
		{name: "a mint per namespace", mutate: func(r *row) { r.FirstMints = 10 }, wantErr: "token mints per run 10 (first)"},
		{name: "no mint", mutate: func(r *row) { r.RerunMint = 0 }, wantErr: "and 0 (re-run)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := within
			tc.mutate(&r)
			err := checkBudget([]row{r})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkBudget: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkBudget error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
