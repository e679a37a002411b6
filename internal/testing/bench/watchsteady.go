package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Request classes of the steady-state count.
const (
	classWatch  = "watches"
	classList   = "lists"
	classLease  = "Lease"
	classWrite  = "writes"
	classStatus = "status"
	classRead   = "reads"
)

var requestClasses = []string{classWatch, classList, classLease, classWrite, classStatus, classRead}

// steadyResult is the controller's API requests over one window.
type steadyResult struct {
	label    string
	covered  int
	window   time.Duration
	byClass  map[string]int
	byKey    map[string]int // "verb resource" → count
	mints    int            // token mints (refreshes) in the window
	secretW  int            // secret writes in the window
	saWrites int            // ServiceAccount writes in the window
}

// perHour extrapolates a count over the window to an hour.
func (s steadyResult) perHour(n int) float64 {
	return float64(n) * float64(time.Hour) / float64(s.window)
}

// writesPerRefresh is the secret writes per refresh (token mint; 0
// without one).
func (s steadyResult) writesPerRefresh() float64 {
	if s.mints == 0 {
		return 0
	}
	return float64(s.secretW) / float64(s.mints)
}

// steady counts the controllers' requests over whole refresh cycles:
// from one token mint to the cycles-th next (a refresh mints once, then
// writes), by the requests' receive time, so a window holds exactly
// cycles refreshes and none straddles its edges. sample (if any) runs
// once a second meanwhile.
func (e *watchEnv) steady(ctx context.Context, label string, covered, cycles int, sample ...func()) (steadyResult, error) {
	a := &auditReader{path: e.auditLog}
	if _, err := a.events(); err != nil { // skip what came before
		return steadyResult{}, err
	}
	limit := time.Duration(cycles+2)*e.opts.tokenLifetime/2 + 5*time.Minute
	n0 := e.mints()
	from, err := e.nextMint(ctx, n0, limit, sample)
	if err != nil {
		return steadyResult{}, err
	}
	to, err := e.nextMint(ctx, n0+cycles, limit, sample)
	if err != nil {
		return steadyResult{}, err
	}
	time.Sleep(time.Second) // the audit log holds every request received before the mint
	events, err := a.events()
	if err != nil {
		return steadyResult{}, err
	}
	var in []auditEvent
	for _, ev := range events {
		if !ev.Received.Before(from) && ev.Received.Before(to) {
			in = append(in, ev)
		}
	}
	s := steadyResult{label: label, covered: covered, window: to.Sub(from), byClass: map[string]int{}, mints: cycles}
	s.byKey = e.count(in)
	for key, n := range s.byKey {
		s.byClass[classOf(key)] += n
	}
	s.secretW, s.saWrites = s.writes("secrets"), s.writes("serviceaccounts")
	progress("steady state (%s, %d namespaces): %d requests in %s (%d refresh(es)), %d secret / %d ServiceAccount writes",
		label, covered, total(s.byClass), secs(s.window), s.mints, s.secretW, s.saWrites)
	return s, nil
}

// nextMint waits until more than seen tokens were minted and returns
// when the one after the first seen was.
func (e *watchEnv) nextMint(ctx context.Context, seen int, limit time.Duration, sample []func()) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for tick := time.Now(); ; {
		if issued := e.minted(); len(issued) > seen {
			return issued[seen], nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("no refresh (token mint) within %s: %d minted so far", limit, seen)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(tick) >= time.Second {
			tick = time.Now()
			for _, f := range sample {
				f()
			}
		}
	}
}

// count counts the controller's requests among events by "verb
// resource".
func (e *watchEnv) count(events []auditEvent) map[string]int {
	out := map[string]int{}
	for _, ev := range events {
		if e.isController(ev) && counted(ev) {
			_, key := classify(ev)
			out[key]++
		}
	}
	return out
}

// writes counts the window's writes of resource.
func (s steadyResult) writes(resource string) int {
	n := 0
	for key, c := range s.byKey {
		if _, res, _ := strings.Cut(key, " "); res == resource && classOf(key) == classWrite {
			n += c
		}
	}
	return n
}

// isController picks the watching refresher's requests: its
// ServiceAccount's, or with -watch-as-admin the admin's made by
// pullsecret (its user agent).
func (e *watchEnv) isController(ev auditEvent) bool {
	if e.opts.asAdmin {
		return ev.User.Username == adminUser && strings.HasPrefix(ev.UserAgent, "pullsecret/")
	}
	return ev.User.Username == e.user
}

// counted keeps one audit event per request: a watch is logged when its
// response starts (and again when it ends), every other request when it
// completes.
func counted(ev auditEvent) bool {
	if ev.ObjectRef == nil {
		return false
	}
	if ev.Verb == "watch" {
		return ev.Stage == "ResponseStarted"
	}
	return ev.Stage == "ResponseComplete"
}

// classOf is classify's class of a "verb resource" key.
func classOf(key string) string {
	verb, res, _ := strings.Cut(key, " ")
	res, _, _ = strings.Cut(res, " (") // (all namespaces), (409)
	ev := auditEvent{Verb: verb}
	ev.ObjectRef = &auditObject{Resource: res}
	if r, sub, ok := strings.Cut(res, "/"); ok {
		ev.ObjectRef.Resource, ev.ObjectRef.Subresource = r, sub
	}
	class, _ := classify(ev)
	return class
}

// classify sorts a request: watches, lists, the Lease (leader election),
// writes of secrets and ServiceAccounts, status (the ConfigMap's
// annotations, Events), and other reads.
func classify(ev auditEvent) (class, key string) {
	res := ev.ObjectRef.Resource
	if ev.ObjectRef.Subresource != "" {
		res += "/" + ev.ObjectRef.Subresource
	}
	key = ev.Verb + " " + res
	if ev.ObjectRef.Namespace == "" && (ev.Verb == "list" || ev.Verb == "watch") {
		key += " (all namespaces)"
	}
	if ev.Response != nil && ev.Response.Code >= 300 {
		key += fmt.Sprintf(" (%d)", ev.Response.Code)
	}
	write := ev.Verb == "create" || ev.Verb == "update" || ev.Verb == "patch" || ev.Verb == "delete"
	switch {
	case res == "leases":
		return classLease, key
	case ev.Verb == "watch":
		return classWatch, key
	case ev.Verb == "list":
		return classList, key
	case res == "events" || (res == "configmaps" && write):
		return classStatus, key
	case write:
		return classWrite, key
	default:
		return classRead, key
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// memoryResult is one controller started cold on covered namespaces.
type memoryResult struct {
	covered      int
	leading      time.Duration // start → holds the Lease
	catchUp      time.Duration // start → every new namespace covered
	hwmKB, rssKB int64         // peak, and steady resident set (median of the window's samples)
	rssMaxKB     int64         // largest VmRSS sample in the window
	// catchUpRequests are the controller's requests from its start until
	// every new namespace was covered, "verb resource" → count.
	catchUpRequests map[string]int
}

// scale creates n namespaces while no controller runs, starts one, and
// measures how long it takes to cover them, its memory, and its requests
// at steady state.
func (e *watchEnv) scale(ctx context.Context, n, cycles int) (memoryResult, steadyResult, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-n%d-%05d", n, i)
	}
	if err := e.createMany(ctx, names); err != nil {
		return memoryResult{}, steadyResult{}, err
	}
	if err := e.waitServiceAccounts(ctx, names); err != nil {
		return memoryResult{}, steadyResult{}, err
	}
	progress("N=%d: %d namespaces created, %d covered in all; starting a controller", n, n, len(e.covered))
	audit := &auditReader{path: e.auditLog}
	if _, err := audit.events(); err != nil { // skip what came before
		return memoryResult{}, steadyResult{}, err
	}
	c, err := e.startController(ctx, fmt.Sprintf("bench-n%d", n))
	if err != nil {
		return memoryResult{}, steadyResult{}, err
	}
	defer func() { _ = c.stop() }()
	m := memoryResult{covered: len(e.covered)}
	leading, err := e.lease.waitHolder(ctx, c, c.started)
	if err != nil {
		return m, steadyResult{}, e.failed(err, c)
	}
	m.leading = leading.Sub(c.started)
	if err := e.waitCovered(ctx, names); err != nil {
		return m, steadyResult{}, e.failed(err, c)
	}
	last := time.Time{}
	for _, ns := range names {
		secret, ref, _ := e.arrivals.covered(ns)
		last = maxTime(last, maxTime(secret, ref))
	}
	m.catchUp = last.Sub(c.started)
	events, err := audit.events()
	if err != nil {
		return m, steadyResult{}, err
	}
	m.catchUpRequests = e.count(events)
	var mu sync.Mutex
	var samples []time.Duration // KB as Duration, to reuse percentile
	sample := func() {
		if _, rss, err := c.memory(); err == nil {
			mu.Lock()
			samples = append(samples, time.Duration(rss))
			m.rssMaxKB = max(m.rssMaxKB, rss)
			mu.Unlock()
		}
	}
	st, err := e.steady(ctx, "1 replica", m.covered, cycles, sample)
	if err != nil {
		return m, st, e.failed(err, c)
	}
	if err := c.running(); err != nil {
		return m, st, e.failed(err, c)
	}
	if m.hwmKB, _, err = c.memory(); err != nil {
		return m, st, err
	}
	m.rssKB = int64(percentile(samples, 50))
	return m, st, nil
}

// createMany creates namespaces, 32 in flight.
func (e *watchEnv) createMany(ctx context.Context, names []string) error {
	sem := make(chan struct{}, 32)
	errs := make(chan error, len(names))
	for _, ns := range names {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := e.createNamespace(ctx, ns)
			errs <- err
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			return err
		}
	}
	e.covered = append(e.covered, names...)
	return nil
}
