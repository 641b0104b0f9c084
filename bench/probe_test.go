package bench

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	// proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime stime …; a name may hold ") ".
	stat := []byte("4242 (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 5 0 250 75 0 0 20 0 12 0 100 0\n")
	cpu, err := parseStatCPU(stat, 100)
	require.NoError(t, err)
	assert.Equal(t, 3250*time.Millisecond, cpu, "(250 + 75) ticks of 10 ms")

	_, err = parseStatCPU([]byte("4242 (short) S 1 2"), 100)
	assert.Error(t, err)
}

func TestClockTicksComeFromTheAuxiliaryVector(t *testing.T) {
	auxv := binary.NativeEndian.AppendUint64(nil, 6) // AT_PAGESZ
	auxv = binary.NativeEndian.AppendUint64(auxv, 4096)
	auxv = binary.NativeEndian.AppendUint64(auxv, atClkTck)
	auxv = binary.NativeEndian.AppendUint64(auxv, 250)
	auxv = binary.NativeEndian.AppendUint64(auxv, 0) // AT_NULL
	auxv = binary.NativeEndian.AppendUint64(auxv, 0)
	assert.EqualValues(t, 250, clockTicksFromAuxv(auxv))
	assert.EqualValues(t, defaultClockTicks, clockTicksFromAuxv(auxv[:16]), "none given")
	assert.Positive(t, clockTicks(), "this process's")
}

func TestProcessProbeMeasuresThisProcessCPU(t *testing.T) {
	p := ProcessProbe{PID: os.Getpid()}
	before, err := p.CPUTime()
	require.NoError(t, err)
	for spin := time.Now(); time.Since(spin) < 100*time.Millisecond; {
	}
	after, err := p.CPUTime()
	require.NoError(t, err)
	assert.Greater(t, after, before, "100 ms of spinning shows")
}
