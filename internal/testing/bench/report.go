package main

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// write puts results.md (the table) and chart.svg into dir.
func write(dir string, rows []row, runs int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "# pullsecret benchmark\n\n%s, %d CPU (load average at the end: %s), local control plane (internal/testing/controlplane), median of %d runs; requests counted in the API server's audit log. Reproduce: `make bench`.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "), runs)
	b.WriteString("The floor is a client with nothing pullsecret adds (blind writes, no client-side limiter, 64 in flight; internal/testing/bench/floor), run interleaved with pullsecret; × floor is pullsecret's time over the floor's.\n\n")
	b.WriteString("| N | kubectl loop | pullsecret first run | re-run | floor first / re-run | × floor first / re-run | × faster than kubectl (first) | requests first / re-run (per namespace) | kubectl requests (per namespace) | peak RSS first / re-run | token mints first / re-run | start → first request | pullsecret CPU first / re-run |\n")
	b.WriteString("|---:|---:|---:|---:|---|---|---:|---|---|---|---|---|---|\n")
	for _, r := range rows {
		kubectl, ratio, kreq := "—", "—", "—"
		if r.Kubectl != nil {
			kubectl = secs(r.Kubectl.Wall)
			ratio = fmt.Sprintf("%.0f×", r.Kubectl.Wall.Seconds()/r.First.Wall.Seconds())
			kreq = fmt.Sprintf("%d (%.1f)", r.Kubectl.Total, float64(r.Kubectl.Total)/float64(r.N))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s / %s | %.2f / %.2f | %s | %d (%.2f) / %d (%.2f) | %s | %.0f / %.0f MB | %d / %d | %.0f ms | %s / %s |\n",
			r.N, kubectl, secs(r.First.Wall), secs(r.Rerun.Wall), secs(r.Floor.Wall), secs(r.FloorRerun.Wall),
			r.First.Wall.Seconds()/r.Floor.Wall.Seconds(), r.Rerun.Wall.Seconds()/r.FloorRerun.Wall.Seconds(), ratio,
			r.First.Total, float64(r.First.Total)/float64(r.N), r.Rerun.Total, float64(r.Rerun.Total)/float64(r.N),
			kreq, float64(r.First.RSSKB)/1024, float64(r.Rerun.RSSKB)/1024, r.FirstMints, r.RerunMint, r.First.FirstReqMS, secs(r.First.CPU), secs(r.Rerun.CPU))
	}
	b.WriteString("\nRequests by verb and resource (pullsecret first run; re-run):\n\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "- N=%d: %s; %s\n", r.N, byVerb(r.First.Requests), byVerb(r.Rerun.Requests))
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(chart(rows)), 0o644)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func byVerb(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// chart is a grouped bar chart of wall time per N on a log scale.
func chart(rows []row) string {
	const w, h, left, bottom, top = 640, 360, 70, 40, 30
	series := []struct {
		name  string
		color string
		get   func(row) *measure
	}{
		{"kubectl loop", "#9e9e9e", func(r row) *measure { return r.Kubectl }},
		{"pullsecret first run", "#1565c0", func(r row) *measure { return &r.First }},
		{"pullsecret re-run", "#64b5f6", func(r row) *measure { return &r.Rerun }},
		{"floor first run", "#ef6c00", func(r row) *measure { return &r.Floor }},
	}
	minS, maxS := 0.01, 1.0
	for _, r := range rows {
		for _, s := range series {
			if m := s.get(r); m != nil {
				maxS = max(maxS, m.Wall.Seconds())
			}
		}
	}
	decades := []float64{}
	for d := minS; d <= maxS*10; d *= 10 {
		decades = append(decades, d)
	}
	top10 := decades[len(decades)-1]
	y := func(sec float64) float64 {
		sec = max(sec, minS)
		return float64(h-bottom) - (math.Log10(sec)-math.Log10(minS))/(math.Log10(top10)-math.Log10(minS))*float64(h-bottom-top)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">Wall time (log scale, lower is better)</text>`+"\n", left)
	for _, d := range decades {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%gs</text>`+"\n", left, w-10, y(d), y(d), left-6, y(d)+4, d)
	}
	group := float64(w-left-20) / float64(len(rows))
	bar := group / float64(len(series)+1)
	for i, r := range rows {
		x0 := float64(left) + float64(i)*group + bar/2
		for j, s := range series {
			m := s.get(r)
			if m == nil {
				continue
			}
			x := x0 + float64(j)*bar
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s N=%d: %s</title></rect>`+"\n",
				x, y(m.Wall.Seconds()), bar-2, float64(h-bottom)-y(m.Wall.Seconds()), s.color, s.name, r.N, secs(m.Wall))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">N = %d</text>`+"\n", x0+bar*float64(len(series))/2, h-bottom+18, r.N)
	}
	for j, s := range series {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", left+j*142, h-12, s.color, left+j*142+14, h-3, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
