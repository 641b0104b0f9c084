package main

import (
	"bytes"
	"strings"

	"github.com/campbus/campbus/client"
)

// Prefixes of traced frames: what the client sent and what it received.
const (
	traceSent     = ">> "
	traceReceived = "<< "
)

// traceLines shows a raw frame for people learning the protocol: one line
// per line of the frame with its line end written out (\r\n), then the body.
// Control characters elsewhere are escaped; Hangul stays readable.
func traceLines(dir client.Direction, frame []byte) []string {
	prefix := traceSent
	if dir == client.Received {
		prefix = traceReceived
	}
	var lines []string
	started := false // blank lines before the start line are not the end of the fields
	for len(frame) > 0 {
		i := bytes.IndexByte(frame, '\n')
		if i < 0 {
			break // the body: whatever follows the blank line
		}
		head := string(frame[:i+1])
		frame = frame[i+1:]
		lines = append(lines, prefix+printable(strings.TrimSuffix(strings.TrimSuffix(head, "\n"), "\r"))+visibleEnd(head))
		blank := head == "\r\n" || head == "\n"
		if blank && started {
			break
		}
		started = started || !blank
	}
	if len(frame) > 0 {
		lines = append(lines, prefix+printable(string(frame)))
	}
	return lines
}

func visibleEnd(line string) string {
	if strings.HasSuffix(line, "\r\n") {
		return `\r\n`
	}
	return `\n`
}

// tracer returns a client.TraceFunc that prints each frame on con.
func tracer(con console, pal palette) client.TraceFunc {
	return func(dir client.Direction, frame []byte) {
		lines := traceLines(dir, frame)
		for i, l := range lines {
			lines[i] = pal.paint(styleTrace, l)
		}
		con.Print(lines...)
	}
}
