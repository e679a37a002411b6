package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    int
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%d = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one = %s", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %s", got)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
}

func TestProcMemory(t *testing.T) {
	t.Parallel()
	status := "Name:\tpullsecret\nVmPeak:\t 1262340 kB\nVmHWM:\t   41236 kB\nVmRSS:\t   38100 kB\nThreads:\t9\n"
	hwm, rss, err := procMemory(strings.NewReader(status))
	if err != nil || hwm != 41236 || rss != 38100 {
		t.Fatalf("procMemory = %d, %d, %v; want 41236, 38100", hwm, rss, err)
	}
	if _, _, err := procMemory(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("a status without VmHWM parsed")
	}
}

func auditLine(verb, stage, resource, sub, ns string) auditEvent {
	e := auditEvent{Verb: verb, Stage: stage}
	e.ObjectRef = &auditObject{Resource: resource, Subresource: sub, Namespace: ns}
	return e
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ev          auditEvent
		class, key  string
		countedOnce bool
	}{
		{auditLine("watch", "ResponseStarted", "secrets", "", ""), classWatch, "watch secrets (all namespaces)", true},
		{auditLine("watch", "ResponseComplete", "secrets", "", ""), classWatch, "watch secrets (all namespaces)", false},
		{auditLine("list", "ResponseComplete", "namespaces", "", ""), classList, "list namespaces (all namespaces)", true},
		{auditLine("update", "ResponseComplete", "leases", "", "pullsecret"), classLease, "update leases", true},
		{auditLine("get", "ResponseComplete", "leases", "", "pullsecret"), classLease, "get leases", true},
		{auditLine("patch", "ResponseComplete", "secrets", "", "a"), classWrite, "patch secrets", true},
		{auditLine("update", "ResponseComplete", "serviceaccounts", "", "a"), classWrite, "update serviceaccounts", true},
		{auditLine("patch", "ResponseComplete", "configmaps", "", "pullsecret"), classStatus, "patch configmaps", true},
		{auditLine("create", "ResponseComplete", "events", "", "pullsecret"), classStatus, "create events", true},
		{auditLine("get", "ResponseComplete", "configmaps", "", "pullsecret"), classRead, "get configmaps", true},
		{auditLine("create", "ResponseComplete", "serviceaccounts", "token", "pullsecret"), classWrite, "create serviceaccounts/token", true},
	} {
		class, key := classify(tc.ev)
		if classOf(key) != class {
			t.Errorf("classOf(%q) = %q, classify said %q", key, classOf(key), class)
		}
		if class != tc.class || key != tc.key || counted(tc.ev) != tc.countedOnce {
			t.Errorf("%s %s/%s at %s: classify = %q %q, counted %v; want %q %q, %v", tc.ev.Verb, tc.ev.ObjectRef.Resource, tc.ev.ObjectRef.Subresource, tc.ev.Stage,
				class, key, counted(tc.ev), tc.class, tc.key, tc.countedOnce)
		}
	}
	conflict := auditLine("update", "ResponseComplete", "serviceaccounts", "", "a")
	conflict.Response = &struct {
		Code int `json:"code"`
	}{Code: 409}
	if class, key := classify(conflict); class != classWrite || key != "update serviceaccounts (409)" || classOf(key) != classWrite {
		t.Errorf("a conflict: classify = %q %q", class, key)
	}
	if counted(auditEvent{Verb: "get", Stage: "ResponseComplete"}) {
		t.Error("a request without an object (discovery) was counted")
	}
}

func TestWatchCheckBudget(t *testing.T) {
	t.Parallel()
	within := steadyResult{label: "1 replica", covered: 100, mints: 2, secretW: 200, saWrites: 0}
	for _, tc := range []struct {
		name    string
		mutate  func(*steadyResult)
		wantErr string
	}{
		{name: "one write per namespace per refresh", mutate: func(*steadyResult) {}},
		{name: "no refresh, no write", mutate: func(s *steadyResult) { s.mints, s.secretW = 0, 0 }},
		{name: "two writes per namespace", mutate: func(s *steadyResult) { s.secretW = 400 }, wantErr: "400 secret writes over 2 refresh(es)"},
		{name: "writes without a refresh", mutate: func(s *steadyResult) { s.mints = 0 }, wantErr: "200 secret writes over 0 refresh(es)"},
		{name: "ServiceAccounts rewritten", mutate: func(s *steadyResult) { s.saWrites = 100 }, wantErr: "100 ServiceAccount writes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := within
			tc.mutate(&s)
			err := (&watchResults{steady: []steadyResult{s}}).checkBudget()
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

func TestSteadyExtrapolation(t *testing.T) {
	t.Parallel()
	s := steadyResult{window: 2 * time.Minute, mints: 2, secretW: 200,
		byClass: map[string]int{classLease: 60, classWrite: 200, classStatus: 2, classWatch: 1}}
	if got := s.perHour(60); got != 1800 {
		t.Errorf("perHour(60 in 2 min) = %v, want 1800", got)
	}
	if got := s.writesPerRefresh(); got != 100 {
		t.Errorf("writesPerRefresh = %v, want 100", got)
	}
	// 61 non-refresh requests in 2 min = 1830/h, plus 2 refreshes of 101.
	if got := s.atDefault(); got != 1830+202 {
		t.Errorf("atDefault = %v, want 2032", got)
	}
}

func TestRefreshInterval(t *testing.T) {
	t.Parallel()
	for lifetime, want := range map[time.Duration]string{time.Minute: "1m", 2 * time.Minute: "1m", time.Hour: "30m", 10 * time.Minute: "5m"} {
		if got := refreshInterval(lifetime); got != want {
			t.Errorf("refreshInterval(%s) = %s, want %s", lifetime, got, want)
		}
	}
}

func TestPodArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    corev1.Container
		want []string
	}{
		{"args", corev1.Container{Command: []string{"/pullsecret"}, Args: []string{"refresh", "--config-map", "ns/x", "--watch"}}, []string{"refresh", "--config-map", "ns/x", "--watch"}},
		{"no --watch yet", corev1.Container{Args: []string{"refresh", "--config-map", "ns/x"}}, []string{"refresh", "--config-map", "ns/x", "--watch"}},
		{"in the command", corev1.Container{Command: []string{"/pullsecret", "refresh"}, Args: []string{"--config-map", "ns/x", "--watch"}}, []string{"refresh", "--config-map", "ns/x", "--watch"}},
	} {
		if got := podArgs(tc.c); !slices.Equal(got, tc.want) {
			t.Errorf("%s: podArgs = %q, want %q", tc.name, got, tc.want)
		}
	}
}
