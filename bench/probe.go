package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Usage is the server's footprint at one moment. Fields a probe cannot
// see are -1.
type Usage struct {
	RSSBytes   int64 `json:"rssBytes"`
	HeapBytes  int64 `json:"heapBytes"`  // Go heap in use after a GC
	StackBytes int64 `json:"stackBytes"` // goroutine stacks
	Goroutines int   `json:"goroutines"`
	Threads    int   `json:"threads"`
	Conns      int   `json:"conns"` // camper connections the server holds
}

// Probe samples a server's footprint.
type Probe interface {
	Sample() (Usage, error)
	// Scope says what the figures cover.
	Scope() string
}

// sampleInto samples the footprint into u.
func sampleInto(p Probe, u *Usage) error {
	fp, err := p.Sample()
	if err != nil {
		return fmt.Errorf("bench: probe: %w", err)
	}
	*u = fp
	return nil
}

// Footprint is the server's footprint before checkin, with every camper
// checked in, and after every camper left.
type Footprint struct {
	Scope      string `json:"scope"`
	Idle       Usage  `json:"idle"`
	CheckedIn  Usage  `json:"checkedIn"`
	AfterLeave Usage  `json:"afterLeave"`
	// RSSPerConn is (CheckedIn − Idle) RSS divided by the campers checked
	// in; likewise for the heap and the stacks.
	RSSPerConn   int64 `json:"rssPerConnBytes"`
	HeapPerConn  int64 `json:"heapPerConnBytes"`
	StackPerConn int64 `json:"stackPerConnBytes"`
}

func (f *Footprint) derive(conns int) {
	f.RSSPerConn, f.HeapPerConn, f.StackPerConn = -1, -1, -1
	if conns <= 0 {
		return
	}
	if f.Idle.StackBytes >= 0 && f.CheckedIn.StackBytes >= 0 {
		f.StackPerConn = (f.CheckedIn.StackBytes - f.Idle.StackBytes) / int64(conns)
	}
	if f.Idle.RSSBytes >= 0 && f.CheckedIn.RSSBytes >= 0 {
		f.RSSPerConn = (f.CheckedIn.RSSBytes - f.Idle.RSSBytes) / int64(conns)
	}
	if f.Idle.HeapBytes >= 0 && f.CheckedIn.HeapBytes >= 0 {
		f.HeapPerConn = (f.CheckedIn.HeapBytes - f.Idle.HeapBytes) / int64(conns)
	}
}

func (f *Footprint) describe() string {
	var parts []string
	if f.Idle.RSSBytes >= 0 {
		parts = append(parts, fmt.Sprintf("RSS idle %s, checked in %s (%s per connection), after leave %s",
			mib(f.Idle.RSSBytes), mib(f.CheckedIn.RSSBytes), kib(f.RSSPerConn), mib(f.AfterLeave.RSSBytes)))
	}
	if f.Idle.HeapBytes >= 0 {
		parts = append(parts, fmt.Sprintf("heap idle %s, checked in %s (%s per connection), after leave %s",
			mib(f.Idle.HeapBytes), mib(f.CheckedIn.HeapBytes), kib(f.HeapPerConn), mib(f.AfterLeave.HeapBytes)))
	}
	if f.Idle.StackBytes >= 0 {
		parts = append(parts, fmt.Sprintf("stacks idle %s, checked in %s (%s per connection)",
			mib(f.Idle.StackBytes), mib(f.CheckedIn.StackBytes), kib(f.StackPerConn)))
	}
	if f.Idle.Goroutines >= 0 {
		parts = append(parts, fmt.Sprintf("goroutines %d → %d → %d", f.Idle.Goroutines, f.CheckedIn.Goroutines, f.AfterLeave.Goroutines))
	}
	if f.Idle.Threads >= 0 {
		parts = append(parts, fmt.Sprintf("threads %d → %d → %d", f.Idle.Threads, f.CheckedIn.Threads, f.AfterLeave.Threads))
	}
	return strings.Join(parts, "; ")
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }

// settle waits until the server holds no connection and its goroutines
// are back to idle or have stopped changing (a lazily started one, such as
// a bus connection's reply subscription, stays for good), for timeout at
// most, and at least minWait, then samples. A probe that sees neither is
// given minWait or a second.
func settle(ctx context.Context, p Probe, idle Usage, minWait, timeout time.Duration) (Usage, error) {
	ctx, cancel := context.WithTimeout(ctx, max(timeout, minWait+time.Second))
	defer cancel()
	began := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var prev Usage
	var stable time.Time // since when the goroutine count has not changed
	for {
		u, err := p.Sample()
		if err != nil {
			return u, err
		}
		if u.Goroutines != prev.Goroutines || u.Conns > 0 {
			stable = time.Now()
		}
		prev = u
		blind := u.Conns < 0 && u.Goroutines < 0
		switch {
		case time.Since(began) < minWait:
		case blind && time.Since(began) >= time.Second:
			return u, nil
		case !blind && u.Conns <= 0 && (u.Goroutines <= idle.Goroutines || time.Since(stable) >= time.Second):
			return u, nil
		}
		select {
		case <-ctx.Done():
			return u, nil
		case <-tick.C:
		}
	}
}

// CPUMeter is a Probe that also reads how much CPU time the server has
// used so far. Only a server in a process of its own can be measured so:
// an embedded one shares its process with the bench.
type CPUMeter interface {
	CPUTime() (time.Duration, error)
}

// ServerCPU is the CPU time (user and system) the server's process used
// from the first send of the run until its last delivery.
type ServerCPU struct {
	Scope       string  `json:"scope"`
	Seconds     float64 `json:"seconds"`
	WallSeconds float64 `json:"wallSeconds"`
	// Cores is Seconds over WallSeconds: how many cores the server kept busy.
	Cores float64 `json:"cores"`
	// PerAcceptedMicros is Seconds over the messages accepted, in µs: what
	// one message cost the server, its deliveries included.
	PerAcceptedMicros float64 `json:"perAcceptedMicros"`
	// TickMicros is the resolution of the figures the kernel gives, in µs.
	TickMicros float64 `json:"tickMicros"`
}

func (c *ServerCPU) describe() string {
	return fmt.Sprintf("%.2f s in %.2f s of sending and delivery (%.2f cores): %.1f µs per accepted message",
		c.Seconds, c.WallSeconds, c.Cores, c.PerAcceptedMicros)
}

// cpuWindow measures a server's CPU time over part of a run.
type cpuWindow struct {
	m     CPUMeter
	scope string
	cpu   time.Duration
	began time.Time
}

// startCPUWindow starts measuring, if p can; the window is nil otherwise.
func startCPUWindow(p Probe) (*cpuWindow, error) {
	m, ok := p.(CPUMeter)
	if !ok {
		return nil, nil
	}
	cpu, err := m.CPUTime()
	if err != nil {
		return nil, fmt.Errorf("bench: probe: %w", err)
	}
	return &cpuWindow{m: m, scope: p.Scope(), cpu: cpu, began: time.Now()}, nil
}

// stop ends the window: the CPU time used since it started, per accepted
// message.
func (w *cpuWindow) stop(accepted int64) (*ServerCPU, error) {
	if w == nil {
		return nil, nil
	}
	cpu, err := w.m.CPUTime()
	if err != nil {
		return nil, fmt.Errorf("bench: probe: %w", err)
	}
	c := &ServerCPU{
		Scope:       w.scope,
		Seconds:     (cpu - w.cpu).Seconds(),
		WallSeconds: time.Since(w.began).Seconds(),
		TickMicros:  float64(time.Second/time.Duration(clockTicks())) / float64(time.Microsecond),
	}
	if c.WallSeconds > 0 {
		c.Cores = c.Seconds / c.WallSeconds
	}
	if accepted > 0 {
		c.PerAcceptedMicros = c.Seconds * 1e6 / float64(accepted)
	}
	return c, nil
}

// ProcessProbe reads another process's RSS and threads from /proc, and its
// CPU time.
type ProcessProbe struct{ PID int }

// Sample implements Probe.
func (p ProcessProbe) Sample() (Usage, error) {
	u := Usage{HeapBytes: -1, StackBytes: -1, Goroutines: -1, Conns: -1}
	var err error
	u.RSSBytes, u.Threads, err = procStatus(p.PID)
	return u, err
}

// Scope implements Probe.
func (p ProcessProbe) Scope() string { return fmt.Sprintf("process %d", p.PID) }

// CPUTime implements CPUMeter: the process's user and system time, all its
// threads (ended ones included), from /proc/<pid>/stat.
func (p ProcessProbe) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b, clockTicks())
}

// parseStatCPU reads utime and stime, in clock ticks, from the contents of
// /proc/<pid>/stat (proc(5): fields 14 and 15, after the command name in
// parentheses, which may itself hold spaces and parentheses).
func parseStatCPU(stat []byte, ticksPerSec int64) (time.Duration, error) {
	s := string(stat)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	// After the name: state (field 3), ..., utime (14), stime (15).
	fields := strings.Fields(s[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(ticksPerSec), nil
}

// atClkTck is the key of the clock-tick rate in an ELF auxiliary vector.
const atClkTck = 17

var clockTicksOnce = sync.OnceValue(func() int64 {
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return defaultClockTicks
	}
	return clockTicksFromAuxv(auxv)
})

// clockTicks returns the unit of the CPU times in /proc/<pid>/stat, ticks
// per second (USER_HZ, what `getconf CLK_TCK` prints): the kernel passes it
// to every process in its auxiliary vector, which is where sysconf reads it.
func clockTicks() int64 { return clockTicksOnce() }

// defaultClockTicks is USER_HZ on every Linux that Go runs on.
const defaultClockTicks = 100

// clockTicksFromAuxv finds AT_CLKTCK among the (key, value) pairs of native
// words of an auxiliary vector.
func clockTicksFromAuxv(auxv []byte) int64 {
	word := strconv.IntSize / 8
	read := func(b []byte) uint64 {
		if word == 4 {
			return uint64(binary.NativeEndian.Uint32(b))
		}
		return binary.NativeEndian.Uint64(b)
	}
	for i := 0; i+2*word <= len(auxv); i += 2 * word {
		if read(auxv[i:]) == atClkTck {
			if v := read(auxv[i+word:]); v > 0 {
				return int64(v)
			}
		}
	}
	return defaultClockTicks
}

// procStatus reads VmRSS and Threads from /proc/<pid>/status.
func procStatus(pid int) (rss int64, threads int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1, err
	}
	defer f.Close()
	rss, threads = -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		switch name {
		case "VmRSS": // "VmRSS:	   12345 kB"
			kb, perr := strconv.ParseInt(fields[0], 10, 64)
			if perr == nil {
				rss = kb << 10
			}
		case "Threads":
			threads, _ = strconv.Atoi(fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return -1, -1, err
	}
	if rss < 0 {
		return -1, -1, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return rss, threads, nil
}

// inProcessUsage samples this process: RSS, heap after a GC, goroutines.
func inProcessUsage() Usage {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := Usage{HeapBytes: int64(ms.HeapInuse), StackBytes: int64(ms.StackInuse), Goroutines: runtime.NumGoroutine(), Conns: -1}
	var err error
	if u.RSSBytes, u.Threads, err = procStatus(os.Getpid()); err != nil {
		u.RSSBytes, u.Threads = -1, -1
	}
	return u
}
