package wire

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// Errors the tests expect. Only Status, Code and Fatal are compared; the
// sentence is for people.
var (
	errMalformedFrame = &campbus.Error{Status: http.StatusBadRequest, Code: campbus.CodeMalformed, Fatal: true}
	errHeaderTooLarge = &campbus.Error{Status: http.StatusRequestHeaderFieldsTooLarge, Code: campbus.CodeTooLarge, Fatal: true}
	errBodyTooLarge   = &campbus.Error{Status: http.StatusRequestEntityTooLarge, Code: campbus.CodeTooLarge, Fatal: true}
)

// readCase is one input stream and everything a Reader must make of it: the
// frames, in order, then the error that ends the stream.
type readCase struct {
	name   string
	input  string
	limits Limits // zero: the defaults
	want   []*Frame
	err    error // io.EOF, io.ErrUnexpectedEOF or a *campbus.Error
}

// headerOf returns a request head (start line, fields, blank line) whose
// start line and fields take exactly size bytes including their CRLFs.
func headerOf(size int) string {
	const start = "POST /checkin HTTP/1.1\r\n"
	const fieldFrame = "X-Pad: \r\n"
	return start + "X-Pad: " + strings.Repeat("p", size-len(start)-len(fieldFrame)) + "\r\n\r\n"
}

// manyFields returns a request whose fields, each well under the limit, add
// up to more than size bytes.
func manyFields(size int) string {
	var b strings.Builder
	b.WriteString("POST /checkin HTTP/1.1\r\n")
	for i := 0; b.Len() <= size; i++ {
		fmt.Fprintf(&b, "X-Field-%d: %s\r\n", i, strings.Repeat("v", 100))
	}
	b.WriteString("\r\n")
	return b.String()
}

const checkinBody = `{"campId":"J004"}`

var validCases = []readCase{
	{
		name:  "a request with CRLF line ends is read whole",
		input: "POST /checkin HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n" + checkinBody,
		want: []*Frame{{
			Method: "POST", Target: "/checkin",
			Fields: []Field{{"Content-Type", "application/json"}, {"Content-Length", "17"}},
			Body:   []byte(checkinBody),
		}},
		err: io.EOF,
	},
	{
		name:  "a request with bare LF line ends is read the same",
		input: "POST /checkin HTTP/1.1\nContent-Type: application/json\nContent-Length: 17\n\n" + checkinBody,
		want: []*Frame{{
			Method: "POST", Target: "/checkin",
			Fields: []Field{{"Content-Type", "application/json"}, {"Content-Length", "17"}},
			Body:   []byte(checkinBody),
		}},
		err: io.EOF,
	},
	{
		name:  "CRLF and bare LF may be mixed in one frame",
		input: "POST /checkin HTTP/1.1\nContent-Length: 17\r\n\n" + checkinBody,
		want: []*Frame{{
			Method: "POST", Target: "/checkin",
			Fields: []Field{{"Content-Length", "17"}},
			Body:   []byte(checkinBody),
		}},
		err: io.EOF,
	},
	{
		name:  "a request without Content-Length has an empty body",
		input: "POST /checkout HTTP/1.1\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/checkout"}},
		err:   io.EOF,
	},
	{
		name:  "a request with Content-Length 0 has an empty body",
		input: "POST /complete HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/complete", Fields: []Field{{"Content-Length", "0"}}}},
		err:   io.EOF,
	},
	{
		name:  "the Request-Id field is kept",
		input: "POST /mission HTTP/1.1\r\nRequest-Id: abc-42\r\nContent-Length: 9\r\n\r\n{\"day\":4}",
		want: []*Frame{{
			Method: "POST", Target: "/mission",
			Fields: []Field{{"Request-Id", "abc-42"}, {"Content-Length", "9"}},
			Body:   []byte(`{"day":4}`),
		}},
		err: io.EOF,
	},
	{
		name:  "field names are matched case-insensitively",
		input: "POST /mission HTTP/1.1\r\nrequest-id: 7\r\ncontent-LENGTH: 9\r\n\r\n{\"day\":4}",
		want: []*Frame{{
			Method: "POST", Target: "/mission",
			Fields: []Field{{"request-id", "7"}, {"content-LENGTH", "9"}},
			Body:   []byte(`{"day":4}`),
		}},
		err: io.EOF,
	},
	{
		name: "fields a stock HTTP client sends, such as Host and User-Agent, are kept and ignored",
		input: "POST /checkin HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n" +
			"Content-Type: application/json\r\nContent-Length: 17\r\n\r\n" + checkinBody,
		want: []*Frame{{
			Method: "POST", Target: "/checkin",
			Fields: []Field{
				{"Host", "127.0.0.1:8080"}, {"User-Agent", "curl/8.5.0"}, {"Accept", "*/*"},
				{"Content-Type", "application/json"}, {"Content-Length", "17"},
			},
			Body: []byte(checkinBody),
		}},
		err: io.EOF,
	},
	{
		name:  "optional whitespace around a field value is trimmed and an empty value is allowed",
		input: "POST /mission HTTP/1.1\r\nContent-Length:\t 9 \t\r\nX-Empty:\r\n\r\n{\"day\":4}",
		want: []*Frame{{
			Method: "POST", Target: "/mission",
			Fields: []Field{{"Content-Length", "9"}, {"X-Empty", ""}},
			Body:   []byte(`{"day":4}`),
		}},
		err: io.EOF,
	},
	{
		name:  "empty lines before the start line are skipped",
		input: "\r\n\n\r\nPOST /checkout HTTP/1.1\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/checkout"}},
		err:   io.EOF,
	},
	{
		name:  "a Content-Length repeated with the same value is accepted",
		input: "POST /mission HTTP/1.1\r\nContent-Length: 9\r\nContent-Length: 009\r\n\r\n{\"day\":4}",
		want: []*Frame{{
			Method: "POST", Target: "/mission",
			Fields: []Field{{"Content-Length", "9"}, {"Content-Length", "009"}},
			Body:   []byte(`{"day":4}`),
		}},
		err: io.EOF,
	},
	{
		name:  "a Content-Length with many leading zeros is still a small number",
		input: "POST /mission HTTP/1.1\r\nContent-Length: 00000000000000000009\r\n\r\n{\"day\":4}",
		want: []*Frame{{
			Method: "POST", Target: "/mission",
			Fields: []Field{{"Content-Length", "00000000000000000009"}},
			Body:   []byte(`{"day":4}`),
		}},
		err: io.EOF,
	},
	{
		name:  "a body holding CRLFs and non-ASCII text is read by its length alone",
		input: "POST /message HTTP/1.1\r\nContent-Length: 30\r\n\r\n{\"text\":\"반갑\r\n\r\n습니다\"}",
		want: []*Frame{{
			Method: "POST", Target: "/message",
			Fields: []Field{{"Content-Length", "30"}},
			Body:   []byte("{\"text\":\"반갑\r\n\r\n습니다\"}"),
		}},
		err: io.EOF,
	},
	{
		name:  "a target with a query string is kept whole",
		input: "POST /checkin?trace=1 HTTP/1.1\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/checkin?trace=1"}},
		err:   io.EOF,
	},
	{
		name:  "a method other than POST is read, for the server to answer 405",
		input: "GET /checkin HTTP/1.1\r\nHost: x\r\n\r\n",
		want:  []*Frame{{Method: "GET", Target: "/checkin", Fields: []Field{{"Host", "x"}}}},
		err:   io.EOF,
	},
	{
		name:  "an HTTP/1.0 request is read",
		input: "POST /checkout HTTP/1.0\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/checkout"}},
		err:   io.EOF,
	},
	{
		name:  "a 200 OK response is read",
		input: "HTTP/1.1 200 OK\r\nRequest-Id: 7\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		want: []*Frame{{
			Status: 200, Reason: "OK",
			Fields: []Field{{"Request-Id", "7"}, {"Content-Type", "application/json"}, {"Content-Length", "2"}},
			Body:   []byte("{}"),
		}},
		err: io.EOF,
	},
	{
		name:  "a 409 Conflict response is read with its error body",
		input: "HTTP/1.1 409 Conflict\r\nContent-Length: 54\r\n\r\n{\"error\":\"J004 is checked in\",\"code\":\"camp-id-in-use\"}",
		want: []*Frame{{
			Status: 409, Reason: "Conflict",
			Fields: []Field{{"Content-Length", "54"}},
			Body:   []byte(`{"error":"J004 is checked in","code":"camp-id-in-use"}`),
		}},
		err: io.EOF,
	},
	{
		name:  "a reason with spaces is kept whole",
		input: "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n",
		want:  []*Frame{{Status: 431, Reason: "Request Header Fields Too Large"}},
		err:   io.EOF,
	},
	{
		name:  "a status line with an empty reason is read",
		input: "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\n{}",
		want:  []*Frame{{Status: 200, Fields: []Field{{"Content-Length", "2"}}, Body: []byte("{}")}},
		err:   io.EOF,
	},
	{
		name:  "a status line without the space before an empty reason is read",
		input: "HTTP/1.1 204\r\n\r\n",
		want:  []*Frame{{Status: 204}},
		err:   io.EOF,
	},
	{
		name:  "an EVENT frame is read",
		input: "EVENT /message HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n{\"group\":1,\"from\":\"J005\",\"text\":\"hi\",\"seq\":1}",
		want: []*Frame{{
			Method: "EVENT", Target: "/message",
			Fields: []Field{{"Content-Type", "application/json"}, {"Content-Length", "45"}},
			Body:   []byte(`{"group":1,"from":"J005","text":"hi","seq":1}`),
		}},
		err: io.EOF,
	},
	{
		name: "pipelined frames in one buffer are read one by one",
		input: "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n" + checkinBody +
			"POST /mission HTTP/1.1\nContent-Length: 9\n\n{\"day\":4}" +
			"POST /checkout HTTP/1.1\r\n\r\n" +
			"\r\n" + // a stray CRLF between frames, as old clients send after a body
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" +
			"EVENT /shutdown HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
		want: []*Frame{
			{Method: "POST", Target: "/checkin", Fields: []Field{{"Content-Length", "17"}}, Body: []byte(checkinBody)},
			{Method: "POST", Target: "/mission", Fields: []Field{{"Content-Length", "9"}}, Body: []byte(`{"day":4}`)},
			{Method: "POST", Target: "/checkout"},
			{Status: 200, Reason: "OK", Fields: []Field{{"Content-Length", "2"}}, Body: []byte("{}")},
			{Method: "EVENT", Target: "/shutdown", Fields: []Field{{"Content-Length", "2"}}, Body: []byte("{}")},
		},
		err: io.EOF,
	},
	{
		name:  "a body of exactly the limit is read",
		input: "POST /message HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + strings.Repeat("b", 1024),
		want: []*Frame{{
			Method: "POST", Target: "/message",
			Fields: []Field{{"Content-Length", "1024"}},
			Body:   []byte(strings.Repeat("b", 1024)),
		}},
		err: io.EOF,
	},
	{
		name:  "a start line and fields of exactly the limit are read, the closing blank line not counted",
		input: headerOf(DefaultMaxHeaderBytes),
		want: []*Frame{{
			Method: "POST", Target: "/checkin",
			Fields: []Field{{"X-Pad", strings.Repeat("p", DefaultMaxHeaderBytes-len("POST /checkin HTTP/1.1\r\nX-Pad: \r\n"))}},
		}},
		err: io.EOF,
	},
	{
		name:  "smaller limits given to NewReader are enforced up to their edge",
		input: "POST /x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678",
		limits: Limits{
			MaxHeaderBytes: len("POST /x HTTP/1.1\r\nContent-Length: 8\r\n"),
			MaxBodyBytes:   8,
		},
		want: []*Frame{{Method: "POST", Target: "/x", Fields: []Field{{"Content-Length", "8"}}, Body: []byte("12345678")}},
		err:  io.EOF,
	},
	{
		name:  "an empty stream ends cleanly",
		input: "",
		err:   io.EOF,
	},
	{
		name:  "a stream of only empty lines ends cleanly",
		input: "\r\n\n",
		err:   io.EOF,
	},
}

var errorCases = []readCase{
	// Limits.
	{
		name:  "a 5 KB start line is refused with 431",
		input: "POST /" + strings.Repeat("a", 5*1024) + " HTTP/1.1\r\n\r\n",
		err:   errHeaderTooLarge,
	},
	{
		name:  "a 5 KB field line is refused with 431",
		input: "POST /checkin HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 5*1024) + "\r\n\r\n",
		err:   errHeaderTooLarge,
	},
	{
		name:  "fields that add up to more than 4096 bytes are refused with 431",
		input: manyFields(DefaultMaxHeaderBytes),
		err:   errHeaderTooLarge,
	},
	{
		name:  "a start line and fields one byte over the limit are refused with 431",
		input: headerOf(DefaultMaxHeaderBytes + 1),
		err:   errHeaderTooLarge,
	},
	{
		name:  "more than 4096 bytes of empty lines before a start line are refused with 431",
		input: strings.Repeat("\r\n", DefaultMaxHeaderBytes) + "POST /checkout HTTP/1.1\r\n\r\n",
		err:   errHeaderTooLarge,
	},
	{
		name:  "a header over the limit is refused with 431 even when the stream then ends",
		input: "POST /" + strings.Repeat("a", 5*1024),
		err:   errHeaderTooLarge,
	},
	{
		name:  "a Content-Length of 2048 is refused with 413 before the body is read",
		input: "POST /message HTTP/1.1\r\nContent-Length: 2048\r\n\r\n",
		err:   errBodyTooLarge,
	},
	{
		name:  "a Content-Length one byte over the limit is refused with 413",
		input: "POST /message HTTP/1.1\r\nContent-Length: 1025\r\n\r\n" + strings.Repeat("b", 1025),
		err:   errBodyTooLarge,
	},
	{
		name:  "a ten-digit Content-Length is a body over the limit, so 413",
		input: "POST /message HTTP/1.1\r\nContent-Length: 9999999999\r\n\r\n",
		err:   errBodyTooLarge,
	},
	{
		name:   "smaller limits given to NewReader refuse a body one byte over them",
		input:  "POST /x HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789",
		limits: Limits{MaxBodyBytes: 8},
		err:    errBodyTooLarge,
	},
	{
		name:   "smaller limits given to NewReader refuse a header one byte over them",
		input:  "POST /x HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678",
		limits: Limits{MaxHeaderBytes: len("POST /x HTTP/1.1\r\nContent-Length: 8\r\n") - 1},
		err:    errHeaderTooLarge,
	},

	// Malformed start lines.
	{name: "a start line of one word is malformed", input: "POST\r\n\r\n", err: errMalformedFrame},
	{name: "a request line without a version is malformed", input: "POST /checkin\r\n\r\n", err: errMalformedFrame},
	{name: "a request line with a target lacking its slash is malformed", input: "POST checkin HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a request line with a space in the target is malformed", input: "POST /check in HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a request line with a tab in the target is malformed", input: "POST /check\tin HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a request line with two spaces is malformed", input: "POST  /checkin HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a request line with a trailing space is malformed", input: "POST /checkin HTTP/1.1 \r\n\r\n", err: errMalformedFrame},
	{name: "a start line beginning with a space is malformed", input: " POST /checkin HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a method that is not a token is malformed", input: "PO\"ST /checkin HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a request line of HTTP/2.0 is malformed", input: "POST /checkin HTTP/2.0\r\n\r\n", err: errMalformedFrame},
	{name: "a request line with a lower-case version is malformed", input: "POST /checkin http/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a status line with a two-digit status is malformed", input: "HTTP/1.1 20 OK\r\n\r\n", err: errMalformedFrame},
	{name: "a status line with a four-digit status is malformed", input: "HTTP/1.1 2000 OK\r\n\r\n", err: errMalformedFrame},
	{name: "a status line with letters for a status is malformed", input: "HTTP/1.1 abc OK\r\n\r\n", err: errMalformedFrame},
	{name: "a status line with a status below 100 is malformed", input: "HTTP/1.1 099 Odd\r\n\r\n", err: errMalformedFrame},
	{name: "a status line without a status is malformed", input: "HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a status line of HTTP/2 is malformed", input: "HTTP/2 200 OK\r\n\r\n", err: errMalformedFrame},
	{name: "a stray CR inside the start line is malformed", input: "POST /check\rin HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a start line ending in CR CR LF is malformed", input: "POST /checkin HTTP/1.1\r\r\n\r\n", err: errMalformedFrame},
	{name: "a NUL inside the start line is malformed", input: "POST /check\x00in HTTP/1.1\r\n\r\n", err: errMalformedFrame},
	{name: "a start line of binary garbage is malformed", input: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", err: errMalformedFrame},

	// Bad field lines.
	{name: "a field line without a colon is malformed", input: "POST /checkin HTTP/1.1\r\nContent-Length 2\r\n\r\n{}", err: errMalformedFrame},
	{name: "a field line without a name is malformed", input: "POST /checkin HTTP/1.1\r\n: 2\r\n\r\n{}", err: errMalformedFrame},
	{name: "a field name with a space before the colon is malformed", input: "POST /checkin HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}", err: errMalformedFrame},
	{name: "a field name with a space inside is malformed", input: "POST /checkin HTTP/1.1\r\nContent Length: 2\r\n\r\n{}", err: errMalformedFrame},
	{name: "a folded field line is malformed", input: "POST /checkin HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", err: errMalformedFrame},
	{name: "a field name with a quote is malformed", input: "POST /checkin HTTP/1.1\r\nX\"A: b\r\n\r\n", err: errMalformedFrame},
	{name: "a stray CR inside a field value is malformed", input: "POST /checkin HTTP/1.1\r\nX-A: b\rc\r\n\r\n", err: errMalformedFrame},
	{name: "a NUL inside a field value is malformed", input: "POST /checkin HTTP/1.1\r\nX-A: b\x00c\r\n\r\n", err: errMalformedFrame},

	// Bad Content-Length.
	{name: "a Content-Length of letters is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: abc\r\n\r\n", err: errMalformedFrame},
	{name: "a negative Content-Length is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: -1\r\n\r\n", err: errMalformedFrame},
	{name: "a Content-Length with a plus sign is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}", err: errMalformedFrame},
	{name: "a fractional Content-Length is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: 1.5\r\n\r\n{}", err: errMalformedFrame},
	{name: "a hexadecimal Content-Length is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: 0x2\r\n\r\n{}", err: errMalformedFrame},
	{name: "an empty Content-Length is malformed", input: "POST /m HTTP/1.1\r\nContent-Length:\r\n\r\n", err: errMalformedFrame},
	{name: "a Content-Length list is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}", err: errMalformedFrame},
	{name: "a Content-Length with a space inside is malformed", input: "POST /m HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", err: errMalformedFrame},
	{
		name:  "a Content-Length too big for any integer is malformed",
		input: "POST /m HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		err:   errMalformedFrame,
	},
	{
		name:  "conflicting Content-Length fields are malformed",
		input: "POST /m HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\n{}x",
		err:   errMalformedFrame,
	},
	{
		name:  "Transfer-Encoding is refused as malformed",
		input: "POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		err:   errMalformedFrame,
	},
	{
		name:  "Transfer-Encoding is refused whatever its case and value",
		input: "POST /m HTTP/1.1\r\nContent-Length: 2\r\ntransfer-encoding: identity\r\n\r\n{}",
		err:   errMalformedFrame,
	},

	// Ends of stream.
	{name: "a stream ending inside the start line is cut short", input: "POST /chec", err: io.ErrUnexpectedEOF},
	{name: "a stream ending after a lone CR is cut short", input: "\r", err: io.ErrUnexpectedEOF},
	{name: "a stream ending right after the start line is cut short", input: "POST /checkin HTTP/1.1\r\n", err: io.ErrUnexpectedEOF},
	{name: "a stream ending inside a field line is cut short", input: "POST /checkin HTTP/1.1\r\nContent-Len", err: io.ErrUnexpectedEOF},
	{
		name:  "a stream ending before the blank line after the fields is cut short",
		input: "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n",
		err:   io.ErrUnexpectedEOF,
	},
	{
		name:  "a stream ending inside the closing CRLF is cut short",
		input: "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r",
		err:   io.ErrUnexpectedEOF,
	},
	{
		name:  "a stream ending before the body is cut short",
		input: "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n",
		err:   io.ErrUnexpectedEOF,
	},
	{
		name:  "a stream ending inside the body is cut short",
		input: "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"campId\":",
		err:   io.ErrUnexpectedEOF,
	},

	// Errors after good frames.
	{
		name:  "frames before a malformed one are still read",
		input: "POST /checkout HTTP/1.1\r\n\r\nPOST /checkin HTTP/1.1\r\nBad Field\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/checkout"}},
		err:   errMalformedFrame,
	},
	{
		name:  "frames before one cut short are still read",
		input: "POST /checkout HTTP/1.1\r\n\r\nPOST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{",
		want:  []*Frame{{Method: "POST", Target: "/checkout"}},
		err:   io.ErrUnexpectedEOF,
	},
	{
		name:  "frames before an oversized body are still read",
		input: "POST /checkout HTTP/1.1\r\n\r\nPOST /message HTTP/1.1\r\nContent-Length: 2048\r\n\r\n",
		want:  []*Frame{{Method: "POST", Target: "/checkout"}},
		err:   errBodyTooLarge,
	},
}

func TestReaderReadsFrames(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) { checkEverySplit(t, tc) })
	}
}

func TestReaderRefusesBadInput(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) { checkEverySplit(t, tc) })
	}
}

// checkEverySplit feeds tc.input whole, one byte at a time, and split in two
// at every position, and expects the same frames and final error each time.
func checkEverySplit(t *testing.T, tc readCase) {
	t.Helper()
	checkStream(t, tc, "whole", strings.NewReader(tc.input))
	checkStream(t, tc, "one byte at a time", iotest.OneByteReader(strings.NewReader(tc.input)))
	checkStream(t, tc, "one byte at a time, EOF with the last byte",
		iotest.DataErrReader(iotest.OneByteReader(strings.NewReader(tc.input))))
	checkStream(t, tc, "half of each read", iotest.HalfReader(strings.NewReader(tc.input)))
	for i := 0; i <= len(tc.input); i++ {
		checkStream(t, tc, fmt.Sprintf("split at byte %d", i), &chunkReader{chunks: []string{tc.input[:i], tc.input[i:]}})
		if t.Failed() {
			return // one split is enough to show the fault
		}
	}
}

// checkStream reads r to its end and compares with tc.
func checkStream(t *testing.T, tc readCase, how string, r io.Reader) {
	t.Helper()
	frames, err := readAll(NewReader(r, tc.limits))
	require.Len(t, frames, len(tc.want), "%s: frames read before %v", how, err)
	for i := range tc.want {
		assertFrame(t, tc.want[i], frames[i], "%s: frame %d", how, i)
	}
	assertReadError(t, tc.err, err, how)
}

// readAll reads frames until the first error.
func readAll(r *Reader) ([]*Frame, error) {
	var frames []*Frame
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return frames, err
		}
		frames = append(frames, f)
	}
}

// assertFrame compares two frames, an empty body equal to no body.
func assertFrame(t *testing.T, want, got *Frame, msgAndArgs ...any) {
	t.Helper()
	w, g := *want, *got
	if len(w.Body) == 0 {
		w.Body = nil
	}
	if len(g.Body) == 0 {
		g.Body = nil
	}
	assert.Equal(t, w, g, msgAndArgs...)
}

// assertReadError checks that got is want: the same sentinel for io errors,
// the same Status, Code and Fatal for a *campbus.Error.
func assertReadError(t *testing.T, want, got error, how string) {
	t.Helper()
	var wantErr *campbus.Error
	if !errors.As(want, &wantErr) {
		assert.ErrorIs(t, got, want, "%s: wanted %v, got %v", how, want, got)
		assert.False(t, errors.Is(want, io.ErrUnexpectedEOF) && errors.Is(got, io.EOF), "%s: clean EOF where the frame was cut short", how)
		return
	}
	var gotErr *campbus.Error
	if !assert.ErrorAs(t, got, &gotErr, "%s: wanted %v, got %v", how, want, got) {
		return
	}
	assert.Equal(t, wantErr.Status, gotErr.Status, "%s: status of %q", how, gotErr.Message)
	assert.Equal(t, wantErr.Code, gotErr.Code, "%s: code of %q", how, gotErr.Message)
	assert.True(t, gotErr.Fatal, "%s: %v must close the connection", how, gotErr)
	assert.NotEmpty(t, gotErr.Message, "%s: an error needs a sentence for a person", how)
}

// chunkReader returns its chunks one per Read, never joining two, so a
// frame split across chunks arrives split.
type chunkReader struct {
	chunks []string
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.chunks) > 0 && r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

func TestReaderPassesIOErrorsThrough(t *testing.T) {
	t.Run("an I/O error before any byte is returned as it came", func(t *testing.T) {
		boom := errors.New("connection reset")
		_, err := NewReader(iotest.ErrReader(boom), Limits{}).ReadFrame()
		assert.ErrorIs(t, err, boom)
	})
	t.Run("an I/O error inside a frame is returned as it came", func(t *testing.T) {
		input := "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{"
		_, err := NewReader(iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(input))), Limits{}).ReadFrame()
		assert.ErrorIs(t, err, iotest.ErrTimeout)
	})
	t.Run("an I/O error inside the body is returned as it came", func(t *testing.T) {
		head := "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n"
		r := io.MultiReader(strings.NewReader(head+"{"), iotest.ErrReader(iotest.ErrTimeout))
		_, err := NewReader(r, Limits{}).ReadFrame()
		assert.ErrorIs(t, err, iotest.ErrTimeout)
	})
}

func TestReaderErrorsAreFinal(t *testing.T) {
	t.Run("after a read deadline inside a body the rest of the body is not read as a new frame", func(t *testing.T) {
		smuggled := "POST /smuggled HTTP/1.1\r\n\r\n"
		body := `{"x":"` + smuggled + `"}`
		r := NewReader(&scriptReader{steps: []readStep{
			{data: "POST /message HTTP/1.1\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body[:6]},
			{err: iotest.ErrTimeout},
			{data: body[6:]},
		}}, Limits{})
		_, err := r.ReadFrame()
		require.ErrorIs(t, err, iotest.ErrTimeout)
		f, err := r.ReadFrame()
		assert.ErrorIs(t, err, iotest.ErrTimeout, "the second read must not resume inside the cut frame")
		assert.Nil(t, f, "the second read returned a frame made of body bytes")
	})
	t.Run("after a malformed frame every later read returns the same error", func(t *testing.T) {
		r := NewReader(strings.NewReader("POST nope\r\n\r\nPOST /checkout HTTP/1.1\r\n\r\n"), Limits{})
		_, first := r.ReadFrame()
		_, second := r.ReadFrame()
		assertReadError(t, errMalformedFrame, first, "first read")
		assert.Same(t, first, second)
	})
	t.Run("after a clean end of stream every later read ends cleanly too", func(t *testing.T) {
		r := NewReader(strings.NewReader(""), Limits{})
		for range 3 {
			_, err := r.ReadFrame()
			assert.ErrorIs(t, err, io.EOF)
		}
	})
}

// readStep is one Read of a scriptReader: some bytes or an error.
type readStep struct {
	data string
	err  error
}

// scriptReader plays its steps in order, then reports io.EOF.
type scriptReader struct {
	steps []readStep
}

func (r *scriptReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	step := &r.steps[0]
	if step.err != nil {
		r.steps = r.steps[1:]
		return 0, step.err
	}
	n := copy(p, step.data)
	step.data = step.data[n:]
	if step.data == "" {
		r.steps = r.steps[1:]
	}
	return n, nil
}

func TestReaderDefaults(t *testing.T) {
	t.Run("zero limits take the protocol's defaults", func(t *testing.T) {
		r := NewReader(strings.NewReader(""), Limits{})
		assert.Equal(t, DefaultLimits, r.lim)
	})
	t.Run("negative limits take the protocol's defaults", func(t *testing.T) {
		r := NewReader(strings.NewReader(""), Limits{MaxHeaderBytes: -1, MaxBodyBytes: -1})
		assert.Equal(t, DefaultLimits, r.lim)
	})
}

func TestReaderBuffered(t *testing.T) {
	t.Run("bytes of a pipelined frame not yet read are reported as buffered", func(t *testing.T) {
		second := "POST /checkout HTTP/1.1\r\n\r\n"
		r := NewReader(strings.NewReader("POST /mission HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"day\":4}"+second), Limits{})
		_, err := r.ReadFrame()
		require.NoError(t, err)
		assert.Equal(t, len(second), r.Buffered())
		_, err = r.ReadFrame()
		require.NoError(t, err)
		assert.Zero(t, r.Buffered())
	})
}

func TestFrameAccessors(t *testing.T) {
	tests := []struct {
		name                  string
		frame                 Frame
		wantName              string
		wantResponse, wantEvt bool
	}{
		{name: "a request is named by its target without the slash", frame: Frame{Method: "POST", Target: "/checkin"}, wantName: "checkin"},
		{name: "a query string is no part of the name", frame: Frame{Method: "POST", Target: "/checkin?x=1"}, wantName: "checkin"},
		{name: "the root target has an empty name", frame: Frame{Method: "POST", Target: "/"}, wantName: ""},
		{name: "an event is named by its type and is an event", frame: Frame{Method: "EVENT", Target: "/join"}, wantName: "join", wantEvt: true},
		{name: "a frame with a status is a response", frame: Frame{Status: 200, Reason: "OK"}, wantResponse: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wantName, tc.frame.Name())
			assert.Equal(t, tc.wantResponse, tc.frame.IsResponse())
			assert.Equal(t, tc.wantEvt, tc.frame.IsEvent())
		})
	}
}

func TestFrameGet(t *testing.T) {
	f := &Frame{Fields: []Field{{"request-id", "7"}, {"X-Dup", "first"}, {"x-dup", "second"}}}
	t.Run("a field is found whatever the case of its name", func(t *testing.T) {
		assert.Equal(t, "7", f.Get(FieldRequestID))
		assert.Equal(t, "7", f.Get("REQUEST-ID"))
	})
	t.Run("the first of repeated fields wins", func(t *testing.T) {
		assert.Equal(t, "first", f.Get("x-dup"))
	})
	t.Run("a missing field is empty", func(t *testing.T) {
		assert.Equal(t, "", f.Get(FieldContentLength))
	})
}

func TestReaderErrorSentences(t *testing.T) {
	t.Run("an error quotes only the start of a long bad line", func(t *testing.T) {
		long := strings.Repeat("x", 1000)
		_, err := NewReader(strings.NewReader("POST "+long+"\r\n\r\n"), Limits{}).ReadFrame()
		var perr *campbus.Error
		require.ErrorAs(t, err, &perr)
		assert.Contains(t, perr.Message, strings.Repeat("x", 59)+`..."`)
		assert.Less(t, len(perr.Message), 200, "sentence %q", perr.Message)
	})
}

func TestWaitReturnsOnceAFrameStartsAndLeavesItWhole(t *testing.T) {
	r := NewReader(strings.NewReader("POST /mission HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"), DefaultLimits)
	require.NoError(t, r.Wait())
	f, err := r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, "mission", f.Name())
	assert.Equal(t, io.EOF, r.Wait())
	_, err = r.ReadFrame()
	assert.Equal(t, io.EOF, err, "errors stay")
}

// blockAfter yields its bytes, then says it would block.
type blockAfter struct{ data []byte }

var errWouldBlock = errors.New("would block")

func (b *blockAfter) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, errWouldBlock
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// FrameBuffered says whether ReadFrame can answer from what is buffered:
// when it says so, ReadFrame never reads the source again.
func TestFrameBufferedMeansReadFrameDoesNotWait(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"POST /message HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", true},
		{"POST /message HTTP/1.1\r\nContent-Length: 2\r\n\r\n{", false},
		{"POST /message HTTP/1.1\r\nContent-Length: 2\r\n", false},
		{"POST /message HTTP/1.1", false},
		{"\r\n\r\n", false},
		{"\r\nPOST /mission HTTP/1.1\r\n\r\n", true},
		{"POST /m HTTP/1.1\nContent-Length: 1\n\nx", true},
		{"POST /m HTTP/1.1\r\ncontent-length: 0003\r\n\r\nab", false},
		{"POST /m HTTP/1.1\r\ncontent-length: 0003\r\n\r\nabc", true},
		{"POST /m HTTP/1.1\r\nContent-Length: x\r\n\r\n", true},
		{"POST /m HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", true},
		{"POST /m HTTP/1.1\r\nContent-Length: 1\r\n\r\nxPOST /m HTTP/1.1\r\n", true},
	} {
		r := NewReader(&blockAfter{data: []byte(c.in)}, Limits{})
		if c.in != "" {
			require.NoError(t, r.Wait(), "%q", c.in)
		}
		got := r.FrameBuffered()
		assert.Equal(t, c.want, got, "%q", c.in)
		if got {
			_, err := r.ReadFrame()
			assert.NotErrorIs(t, err, errWouldBlock, "%q: said buffered, then read on", c.in)
		}
	}
}

func FuzzFrameBuffered(f *testing.F) {
	for _, seed := range []string{"POST /message HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "\r\n\r\nPOST /m HTTP/1.1\n\n",
		"POST /m HTTP/1.1\r\nContent-Length: 0003\r\n\r\nab", "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(&blockAfter{data: in}, Limits{})
		if len(in) > 0 && r.Wait() != nil {
			return
		}
		if r.FrameBuffered() {
			if _, err := r.ReadFrame(); errors.Is(err, errWouldBlock) {
				t.Fatalf("%q: said buffered, then read on", in)
			}
		}
	})
}
