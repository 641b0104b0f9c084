package tcpfront

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func TestTryWriteTakesWhatTheSocketTakesAndNeverWaits(t *testing.T) {
	sc, cc := tcpPair(t)
	tr := newTransport(sc, New(nil, Options{}))

	// The client reads nothing yet: the socket fills, and TryWrite returns
	// at once with what it took, ending inside a frame or between two.
	frame := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16,000 bytes
	var want bytes.Buffer
	full := false
	start := time.Now()
	for i := 0; i < 10000 && !full; i++ {
		frames := [][]byte{frame, frame[:100], frame}
		n, err := tr.TryWrite(frames)
		require.NoError(t, err)
		all := bytes.Join(frames, nil)
		want.Write(all[:n])
		full = n < len(all)
	}
	require.True(t, full, "the socket filled up")
	assert.Less(t, time.Since(start), 5*time.Second, "TryWrite never waits for the peer")

	n, err := tr.TryWrite([][]byte{[]byte("more")})
	require.NoError(t, err)
	assert.Zero(t, n, "a full socket takes nothing")

	// What it reported written is exactly what the peer reads.
	got := make([]byte, want.Len())
	_, err = io.ReadFull(cc, got)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want.Bytes(), got), "the bytes written, in order")

	// Past a write deadline that has expired, it still writes.
	require.NoError(t, sc.SetWriteDeadline(time.Now().Add(-time.Second)))
	n, err = tr.TryWrite([][]byte{[]byte("after")})
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	buf := make([]byte, 5)
	_, err = io.ReadFull(cc, buf)
	require.NoError(t, err)
	assert.Equal(t, "after", string(buf))
}

func TestTryWriteReportsAClosedPeer(t *testing.T) {
	sc, cc := tcpPair(t)
	tr := newTransport(sc, New(nil, Options{}))
	require.NoError(t, cc.(*net.TCPConn).SetLinger(0))
	require.NoError(t, cc.Close()) // a reset
	var err error
	require.Eventually(t, func() bool {
		_, err = tr.TryWrite([][]byte{[]byte("hello")})
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
}
