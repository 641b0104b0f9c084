package client_test

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/wire"
)

// traced records the frames a client traces, as text with their direction.
type traced struct {
	mu     sync.Mutex
	frames []string
}

func (tr *traced) record(dir client.Direction, frame []byte) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	prefix := ">> "
	if dir == client.Received {
		prefix = "<< "
	}
	tr.frames = append(tr.frames, prefix+string(frame))
}

func (tr *traced) all() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.frames...)
}

func TestTraceGetsEachFrameByteForByteHoweverTheStreamIsCut(t *testing.T) {
	for _, chunk := range []int{1, 3, 1 << 20} {
		t.Run(fmt.Sprintf("the server writes in chunks of %d bytes", chunk), func(t *testing.T) {
			clientEnd, serverEnd := net.Pipe()
			defer serverEnd.Close()
			var tr traced
			c := client.New(clientEnd, client.WithTrace(tr.record))
			defer c.Close()

			result := doAsync(c, "mission", map[string]int{"day": 4})
			req, err := wire.NewReader(serverEnd, wire.DefaultLimits).ReadFrame()
			require.NoError(t, err)

			ev := wire.AppendEvent(nil, "message", []byte(`{"from":"J005","text":"반갑습니다"}`))
			resp := wire.AppendResponse(nil, 200, req.Get(wire.FieldRequestID), []byte(`{"day":4,"keywords":"Heap, Stack"}`))
			stream := append(append([]byte("\r\n"), ev...), resp...) // a stray blank line goes with the next frame
			for len(stream) > 0 {
				n := min(chunk, len(stream))
				_, err := serverEnd.Write(stream[:n])
				require.NoError(t, err)
				stream = stream[n:]
			}
			o := await(t, result)
			require.NoError(t, o.err)
			assert.Equal(t, 200, o.resp.Status)
			assert.Equal(t, "message", nextEvent(t, c).Type)

			assert.Equal(t, []string{
				">> " + string(wire.AppendRequest(nil, "mission", "1", []byte(`{"day":4}`))),
				"<< \r\n" + string(ev),
				"<< " + string(resp),
			}, tr.all())
		})
	}
}
