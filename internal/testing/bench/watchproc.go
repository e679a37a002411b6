package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// controller is one watching refresher, run out of cluster as a child
// process with its pod's arguments (`refresh --config-map NS/NAME …
// --watch`) and `--kubeconfig PATH --metrics-address ADDR`, leader
// election on (the default), its Lease identity POD_NAME=id.
type controller struct {
	id, logPath, metrics string
	cmd                  *exec.Cmd
	started              time.Time
	exited               chan struct{}
	exitedAt             time.Time
	waitErr              error
}

func (e *watchEnv) startController(_ context.Context, id string) (*controller, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &controller{id: id, logPath: filepath.Join(e.work, "controller-"+id+".log"), metrics: "127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{})}
	log, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	bin := e.bin
	if e.opts.controllerBin != "" {
		bin = e.opts.controllerBin
	}
	c.cmd = exec.Command(bin, append(slices.Clone(e.args), "--kubeconfig", e.kubeconfig, "--metrics-address", c.metrics)...)
	c.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.work, "POD_NAME=" + id}
	c.cmd.Stdout, c.cmd.Stderr = log, log
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting controller %s: %w", id, err)
	}
	e.controllers++
	go func() {
		c.waitErr = c.cmd.Wait()
		c.exitedAt = time.Now()
		log.Close()
		close(c.exited)
	}()
	return c, nil
}

// stop sends SIGTERM and waits for the exit (SIGKILL after a minute).
func (c *controller) stop() error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("controller %s: %w", c.id, err)
	}
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("controller %s did not exit within a minute of SIGTERM", c.id)
	}
	return nil
}

// running reports an early exit as an error.
func (c *controller) running() error {
	select {
	case <-c.exited:
		return fmt.Errorf("controller %s exited: %v", c.id, c.waitErr)
	default:
		return nil
	}
}

// memory reads VmHWM (peak resident set) and VmRSS from /proc, in KB.
func (c *controller) memory() (hwmKB, rssKB int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return procMemory(f)
}

// procMemory parses /proc/<pid>/status.
func procMemory(r io.Reader) (hwmKB, rssKB int64, err error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		n, perr := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("/proc status %s: %w", k, perr)
		}
		if k == "VmHWM" {
			hwmKB = n
		} else {
			rssKB = n
		}
	}
	if hwmKB == 0 || rssKB == 0 {
		return 0, 0, fmt.Errorf("/proc status lacks VmHWM or VmRSS")
	}
	return hwmKB, rssKB, s.Err()
}

// metric returns the value of one series of the controller's /metrics
// (false when it does not serve it, or not yet).
func (c *controller) metric(name string) (float64, bool) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + c.metrics + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if base, _, _ := strings.Cut(series, "{"); ok && base == name {
			v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
			return v, err == nil
		}
	}
	return 0, false
}

func (c *controller) logTail(n int) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return err.Error()
	}
	return tail(string(b), n)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
