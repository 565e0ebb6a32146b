package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a server process under measurement: stepsd or the baseline.
type server struct {
	name string
	url  string
	cmd  *exec.Cmd
	out  *tailBuffer

	exited  chan struct{}
	waitErr error
}

// startTimeout bounds how long a server may take to answer /healthz after
// start (stepsd migrates first).
const startTimeout = 60 * time.Second

// startServer runs bin with args plus --listen on a free loopback port (one
// of ports when it is set), in dir, and waits until it answers GET /healthz.
func startServer(ctx context.Context, name, bin string, args, env []string, dir string, ports portRange) (*server, error) {
	addr, err := freeLoopbackAddr(ports)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append(args, "--listen", addr)...)
	cmd.Dir = dir
	cmd.Env = env
	out := &tailBuffer{max: 8 << 10}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{name: name, url: "http://" + addr, cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) waitReady(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		res, err := hc.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited at start (%v): %s", s.name, s.waitErr, s.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer %s/healthz within %s: %s", s.name, s.url, startTimeout, s.out.String())
}

// stop asks the server to shut down (SIGTERM), and kills it if it has not
// exited after a while.
func (s *server) stop() {
	if s == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited already
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // it may have exited just now
		<-s.exited
	}
}

// alive reports an error if the server has exited.
func (s *server) alive() error {
	select {
	case <-s.exited:
		return fmt.Errorf("%s exited (%v): %s", s.name, s.waitErr, s.out.String())
	default:
		return nil
	}
}

// watchPeakRSS measures the server's peak resident set size from now until
// the returned stop is called. It resets the kernel's high-water mark
// (VmHWM, via /proc/PID/clear_refs) and also samples VmRSS every few
// milliseconds, in case the reset is not allowed; it returns the larger.
func (s *server) watchPeakRSS() (stop func() (int64, error)) {
	pid := s.cmd.Process.Pid
	resetOK := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	var (
		mu      sync.Mutex
		sampled int64
		done    = make(chan struct{})
		stopped = make(chan struct{})
	)
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := procMemory(pid); err == nil {
				mu.Lock()
				sampled = max(sampled, rss)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() (int64, error) {
		close(done)
		<-stopped
		rss, hwm, err := procMemory(pid)
		if err != nil {
			return 0, fmt.Errorf("read memory of %s: %w", s.name, err)
		}
		peak := max(sampled, rss)
		if resetOK {
			peak = max(peak, hwm)
		}
		return peak, nil
	}
}

// procCPU is the CPU time (user and system) pid has used so far, from
// /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15, in clock ticks.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux platform Go supports.
const clockTicks = 100

// findProcess returns the pid of a process whose command name is one of
// names, or 0: the local database server, whose CPU time the harness reads
// to tell whether stepsd or the database is the bottleneck.
func findProcess(names ...string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && slices.Contains(names, strings.TrimSpace(string(comm))) {
			return pid
		}
	}
	return 0
}

// cpuMeter measures the CPU time of a server and, when found, of the local
// database server, between start and stop.
type cpuMeter struct {
	pids  []int
	start []time.Duration
	ok    bool
}

func startCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids, ok: true}
	for _, pid := range pids {
		t, err := procCPU(pid)
		m.ok = m.ok && err == nil
		m.start = append(m.start, t)
	}
	return m
}

// stop returns the CPU time of each pid since start, and whether every
// reading succeeded.
func (m *cpuMeter) stop() ([]time.Duration, bool) {
	out := make([]time.Duration, len(m.pids))
	for i, pid := range m.pids {
		t, err := procCPU(pid)
		m.ok = m.ok && err == nil
		out[i] = t - m.start[i]
	}
	return out, m.ok
}

// procMemory reads VmRSS and VmHWM of pid, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q", name, value)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc/PID/status")
	}
	return rss, hwm, nil
}

// portRange is the ports a server may listen on, from lo to hi; the zero
// value lets the kernel pick any free one.
type portRange struct{ lo, hi int }

// freeLoopbackAddr returns 127.0.0.1:PORT with a port free a moment ago,
// the first free one of ports when it is set.
func freeLoopbackAddr(ports portRange) (string, error) {
	if ports.lo == 0 {
		return listenOnce("127.0.0.1:0")
	}
	for p := ports.lo; p <= ports.hi; p++ {
		if addr, err := listenOnce(net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			return addr, nil
		}
	}
	return "", fmt.Errorf("find a free port: none of %d-%d is free", ports.lo, ports.hi)
}

// listenOnce listens on addr and closes at once, to learn that it is free.
func listenOnce(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	free := l.Addr().String()
	l.Close()
	return free, nil
}

// tailBuffer keeps the last max bytes written: a server's log, for the
// error message if it fails.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return "(no output)"
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

// childEnv is the environment of the processes started: the harness's,
// without any STEPSD_ or STEPSCTL_ settings that would change what is
// measured, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "STEPSD_") || strings.HasPrefix(kv, "STEPSCTL_") || strings.HasPrefix(kv, "STEPSBENCH_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
