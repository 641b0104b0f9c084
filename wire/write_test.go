package wire

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendWritesExactBytes(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{
			name: "a response repeats the Request-Id and labels its JSON body",
			got:  AppendResponse(nil, http.StatusOK, "7", []byte("{}")),
			want: "HTTP/1.1 200 OK\r\nRequest-Id: 7\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		},
		{
			name: "a response without a Request-Id sends no such field",
			got:  AppendResponse(nil, http.StatusConflict, "", []byte(`{"error":"x","code":"no-session"}`)),
			want: "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n" + `{"error":"x","code":"no-session"}`,
		},
		{
			name: "a 503 with retryAfter in its body carries Retry-After",
			got:  AppendResponse(nil, http.StatusServiceUnavailable, "", []byte(`{"error":"x","code":"unavailable","retryAfter":1}`)),
			want: "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 49\r\n\r\n" + `{"error":"x","code":"unavailable","retryAfter":1}`,
		},
		{
			name: "a 503 without retryAfter carries no Retry-After",
			got:  AppendResponse(nil, http.StatusServiceUnavailable, "", []byte(`{"error":"x","code":"shutting-down"}`)),
			want: "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n" + `{"error":"x","code":"shutting-down"}`,
		},
		{
			name: "a 431 response carries its standard reason",
			got:  AppendResponse(nil, http.StatusRequestHeaderFieldsTooLarge, "", nil),
			want: "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
		},
		{
			name: "a request names its command in the target",
			got:  AppendRequest(nil, "checkin", "", []byte(checkinBody)),
			want: "POST /checkin HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n" + checkinBody,
		},
		{
			name: "a request with a Request-Id sends it first",
			got:  AppendRequest(nil, "mission", "r1", []byte(`{"day":4}`)),
			want: "POST /mission HTTP/1.1\r\nRequest-Id: r1\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n" + `{"day":4}`,
		},
		{
			name: "a request without a body sends Content-Length 0 and no Content-Type",
			got:  AppendRequest(nil, "checkout", "", nil),
			want: "POST /checkout HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		},
		{
			name: "an event names its type in the target",
			got:  AppendEvent(nil, "join", []byte(`{"group":1}`)),
			want: "EVENT /join HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n" + `{"group":1}`,
		},
		{
			name: "a frame is appended after what dst already holds",
			got:  AppendEvent([]byte("previous"), "shutdown", []byte("{}")),
			want: "previousEVENT /shutdown HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(tc.got))
		})
	}
}

// roundTrip is one frame written by an Append function and what a Reader
// must read back from it.
type roundTrip struct {
	name       string
	frame      []byte
	wantName   string
	wantStatus int
	wantEvent  bool
	wantID     string
	wantBody   string
}

var roundTrips = []roundTrip{
	{
		name:     "a request with a body and a Request-Id reads back whole",
		frame:    AppendRequest(nil, "checkin", "42", []byte(checkinBody)),
		wantName: "checkin", wantID: "42", wantBody: checkinBody,
	},
	{
		name:     "a request without a body reads back with an empty body",
		frame:    AppendRequest(nil, "checkout", "", nil),
		wantName: "checkout",
	},
	{
		name:     "a request with non-ASCII text reads back byte for byte",
		frame:    AppendRequest(nil, "message", "", []byte(`{"text":"반갑습니다"}`)),
		wantName: "message", wantBody: `{"text":"반갑습니다"}`,
	},
	{
		name:     "a request with a body of exactly the limit reads back",
		frame:    AppendRequest(nil, "message", "", bytes.Repeat([]byte("b"), DefaultMaxBodyBytes)),
		wantName: "message", wantBody: string(bytes.Repeat([]byte("b"), DefaultMaxBodyBytes)),
	},
	{
		name:       "a 200 response reads back with its status and Request-Id",
		frame:      AppendResponse(nil, http.StatusOK, "7", []byte(`{"campId":"J004","group":1,"members":["J004"]}`)),
		wantStatus: http.StatusOK, wantID: "7", wantBody: `{"campId":"J004","group":1,"members":["J004"]}`,
	},
	{
		name:       "an error response reads back with its status",
		frame:      AppendResponse(nil, http.StatusRequestEntityTooLarge, "", []byte(`{"error":"too big","code":"too-large"}`)),
		wantStatus: http.StatusRequestEntityTooLarge, wantBody: `{"error":"too big","code":"too-large"}`,
	},
	{
		name:       "a response with a status Go has no text for reads back",
		frame:      AppendResponse(nil, 599, "", nil),
		wantStatus: 599,
	},
	{
		name:     "an event reads back as an event of its type",
		frame:    AppendEvent(nil, "message", []byte(`{"group":1,"from":"J005","text":"hi","seq":1,"remaining":1}`)),
		wantName: "message", wantEvent: true, wantBody: `{"group":1,"from":"J005","text":"hi","seq":1,"remaining":1}`,
	},
}

func TestAppendRoundTrip(t *testing.T) {
	for _, tc := range roundTrips {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewReader(bytes.NewReader(tc.frame), Limits{}).ReadFrame()
			require.NoError(t, err, "reading %q", tc.frame)
			checkRoundTrip(t, tc, f)
		})
	}
}

func TestAppendRoundTripPipelined(t *testing.T) {
	t.Run("every appended frame in one buffer reads back in order, however the buffer is split", func(t *testing.T) {
		var stream []byte
		for _, tc := range roundTrips {
			stream = append(stream, tc.frame...)
		}
		readers := map[string]func() io.Reader{
			"whole":              func() io.Reader { return bytes.NewReader(stream) },
			"one byte at a time": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		}
		for i := 0; i <= len(stream); i += 7 {
			readers[fmt.Sprintf("split at byte %d", i)] = func() io.Reader {
				return &chunkReader{chunks: []string{string(stream[:i]), string(stream[i:])}}
			}
		}
		for how, open := range readers {
			r := NewReader(open(), Limits{})
			for _, tc := range roundTrips {
				f, err := r.ReadFrame()
				require.NoError(t, err, "%s: reading the frame of %q", how, tc.name)
				checkRoundTrip(t, tc, f)
			}
			_, err := r.ReadFrame()
			require.ErrorIs(t, err, io.EOF, "%s: after the last frame", how)
		}
	})
}

func checkRoundTrip(t *testing.T, tc roundTrip, f *Frame) {
	t.Helper()
	assert.Equal(t, tc.wantName, f.Name(), "name of %q", tc.frame)
	assert.Equal(t, tc.wantStatus, f.Status, "status of %q", tc.frame)
	assert.Equal(t, tc.wantStatus != 0, f.IsResponse(), "IsResponse of %q", tc.frame)
	assert.Equal(t, tc.wantEvent, f.IsEvent(), "IsEvent of %q", tc.frame)
	if !tc.wantEvent && tc.wantStatus == 0 {
		assert.Equal(t, MethodPost, f.Method, "method of %q", tc.frame)
	}
	assert.Equal(t, tc.wantID, f.Get(FieldRequestID), "Request-Id of %q", tc.frame)
	assert.Equal(t, tc.wantBody, string(f.Body), "body of %q", tc.frame)
	if tc.wantBody != "" {
		assert.Equal(t, ContentTypeJSON, f.Get(FieldContentType), "Content-Type of %q", tc.frame)
	}
}
