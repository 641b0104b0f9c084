// Package wire is the campbus frame codec: HTTP/1.1 message syntax (RFC 9112)
// on one long-lived TCP connection, shared by the server and the clients.
//
// Grammar of every frame, in both directions:
//
//	frame      = start-line CRLF *( field CRLF ) CRLF body
//	start-line = request-line / status-line
//	request-line = method SP target SP HTTP-version   ; "POST /checkin HTTP/1.1"
//	                                                  ; "EVENT /join HTTP/1.1" for events
//	status-line  = HTTP-version SP 3DIGIT SP [reason] ; "HTTP/1.1 200 OK"
//	field      = field-name ":" OWS field-value OWS
//	body       = Content-Length octets; none when the field is absent
//
// A bare LF ends a line as well as CRLF. Empty lines before a start line are
// skipped (they count against the header limit). Field names are
// case-insensitive; fields other than Content-Length and Request-Id are kept
// but carry no meaning. Transfer-Encoding is refused.
//
// Limits are enforced before anything is allocated for the frame: the start
// line and fields together may take at most Limits.MaxHeaderBytes (431 past
// it), the body at most Limits.MaxBodyBytes (413 past it). Every error the
// Reader returns for bad input is a *campbus.Error marked Fatal: after it the
// next frame cannot be found and the connection must be closed.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/campbus/campbus"
)

// Default limits from PROTOCOL.md §1.
const (
	DefaultMaxHeaderBytes = 4096
	DefaultMaxBodyBytes   = 1024
)

// Methods and protocol tokens.
const (
	MethodPost  = "POST"
	MethodEvent = "EVENT"
	Proto       = "HTTP/1.1"
)

// Field names with a meaning in the protocol.
const (
	FieldContentLength = "Content-Length"
	FieldContentType   = "Content-Type"
	FieldRequestID     = "Request-Id"
	ContentTypeJSON    = "application/json"
)

// Limits bound what a Reader accepts.
type Limits struct {
	MaxHeaderBytes int // start line + fields with their line ends; not the blank line after them
	MaxBodyBytes   int
}

// DefaultLimits are the server's limits for requests.
var DefaultLimits = Limits{MaxHeaderBytes: DefaultMaxHeaderBytes, MaxBodyBytes: DefaultMaxBodyBytes}

// Field is one header field as received.
type Field struct {
	Name, Value string
}

// Frame is one parsed message: a request (Method POST or anything else a
// client sent), an event (Method EVENT) or a response (Status set).
type Frame struct {
	Method string // request and event frames
	Target string // request and event frames, e.g. "/checkin"
	Status int    // response frames
	Reason string // response frames
	Fields []Field
	Body   []byte
}

// IsResponse reports whether the frame is a response (a status line).
func (f *Frame) IsResponse() bool { return f.Status != 0 }

// IsEvent reports whether the frame is an event.
func (f *Frame) IsEvent() bool { return f.Method == MethodEvent }

// Name returns the target without its leading slash and without any query
// string: the command of a request or the type of an event.
func (f *Frame) Name() string {
	name := strings.TrimPrefix(f.Target, "/")
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	return name
}

// Get returns the value of the first field with that name (case-insensitive).
func (f *Frame) Get(name string) string {
	for _, fl := range f.Fields {
		if strings.EqualFold(fl.Name, name) {
			return fl.Value
		}
	}
	return ""
}

// Reader reads frames from a byte stream within limits.
type Reader struct {
	br   *bufio.Reader // nil while lent back to pool
	src  io.Reader
	pool *ReaderPool // nil: br is the Reader's own for good
	lim  Limits
	err  error // the first error ReadFrame returned; every later call returns it
}

// NewReader returns a Reader over r. Zero limits take the defaults.
func NewReader(r io.Reader, lim Limits) *Reader {
	lim = lim.withDefaults()
	// The buffer holds one whole line at most MaxHeaderBytes long, so a longer
	// line shows up as bufio.ErrBufferFull without any allocation.
	return &Reader{br: bufio.NewReaderSize(r, lim.MaxHeaderBytes), src: r, lim: lim}
}

func (lim Limits) withDefaults() Limits {
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if lim.MaxBodyBytes <= 0 {
		lim.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return lim
}

// A ReaderPool lends the Readers made from it their buffers while they
// read: a Reader whose connection is idle can give its buffer back
// (Release), so that thousands of idle connections do not each hold one.
type ReaderPool struct {
	lim  Limits
	bufs sync.Pool // of *bufio.Reader, MaxHeaderBytes each
}

// NewReaderPool returns a pool for Readers with these limits.
func NewReaderPool(lim Limits) *ReaderPool {
	p := &ReaderPool{lim: lim.withDefaults()}
	p.bufs.New = func() any { return bufio.NewReaderSize(nil, p.lim.MaxHeaderBytes) }
	return p
}

// NewReader returns a Reader over r whose buffer comes from the pool.
func (p *ReaderPool) NewReader(r io.Reader) *Reader {
	return &Reader{src: r, pool: p, lim: p.lim}
}

// buf returns the Reader's buffer, borrowing one if it has none.
func (r *Reader) buf() *bufio.Reader {
	if r.br == nil {
		r.br = r.pool.bufs.Get().(*bufio.Reader)
		r.br.Reset(r.src)
	}
	return r.br
}

// Release gives the buffer back to the Reader's pool if it holds nothing
// unread; the next read borrows one again. Without a pool it does nothing.
func (r *Reader) Release() {
	if r.pool == nil || r.br == nil || r.br.Buffered() > 0 {
		return
	}
	r.br.Reset(nil)
	r.pool.bufs.Put(r.br)
	r.br = nil
}

// Buffered reports how many bytes are buffered and not yet read: a writer can
// hold its flush while more pipelined requests are waiting.
func (r *Reader) Buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered()
}

// FrameBuffered reports whether the next frame is buffered whole, so that
// ReadFrame returns it (or its error) without reading from the source. It
// reads only what is buffered, as ReadFrame would: blank lines, the start
// line and the fields up to the empty line, then Content-Length bytes of
// body. A malformed frame counts as buffered once its lines are: ReadFrame
// refuses it without waiting for more.
func (r *Reader) FrameBuffered() bool {
	if r.br == nil || r.err != nil {
		return r.err != nil
	}
	b, _ := r.br.Peek(r.br.Buffered())
	start := true
	length := 0
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		line := b[:i]
		b = b[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if start {
			start = len(line) == 0 // blank lines before the start line
			continue
		}
		if len(line) == 0 {
			break
		}
		if c := bytes.IndexByte(line, ':'); c > 0 && bytes.EqualFold(line[:c], []byte(FieldContentLength)) {
			v := bytes.Trim(line[c+1:], " \t")
			for len(v) > 1 && v[0] == '0' {
				v = v[1:]
			}
			if len(v) == 0 || len(v) > 9 || !isDigits(string(v)) {
				return true // malformed or over any body limit: refused at once
			}
			length, _ = strconv.Atoi(string(v))
		}
	}
	return len(b) >= length
}

// Wait blocks until the first byte of the next frame can be read, so that a
// caller can time the frame itself apart from the pause before it. It
// returns the stream's error (io.EOF between frames) and, like ReadFrame,
// keeps returning the first error once there was one.
func (r *Reader) Wait() error {
	if r.err != nil {
		return r.err
	}
	if _, err := r.buf().Peek(1); err != nil {
		r.err = err
		return err
	}
	return nil
}

func errMalformed(format string, args ...any) *campbus.Error {
	return campbus.FatalErrorf(http.StatusBadRequest, campbus.CodeMalformed, format, args...)
}

// ReadFrame reads the next frame. It returns io.EOF when the stream ends
// cleanly between frames, io.ErrUnexpectedEOF when it ends inside one, another
// I/O error as it comes, or a fatal *campbus.Error for bad input.
//
// An error is final: every later call returns it again. The bytes read before
// an I/O error (a read deadline, say) are gone, so reading on would take the
// rest of a cut frame, or of its body, for the start of a new one.
func (r *Reader) ReadFrame() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	f, err := r.readFrame()
	if err != nil {
		r.err = err
		return nil, err
	}
	return f, nil
}

func (r *Reader) readFrame() (*Frame, error) {
	budget := r.lim.MaxHeaderBytes
	var line []byte
	var err error
	// Skip empty lines before the start line; they count against the budget
	// but are no part of a frame, so the stream may end cleanly after them.
	for {
		line, err = r.readLine(&budget, false)
		if err != nil {
			return nil, err
		}
		if len(line) > 0 {
			break
		}
	}
	f := &Frame{}
	if err := parseStartLine(f, string(line)); err != nil {
		return nil, err
	}
	contentLength := int64(-1)
	for {
		line, err = r.readLine(&budget, true)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := parseField(line)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.EqualFold(name, FieldContentLength):
			n, err := parseContentLength(value)
			if err != nil {
				return nil, err
			}
			if contentLength >= 0 && contentLength != n {
				return nil, errMalformed("conflicting Content-Length fields")
			}
			contentLength = n
		case strings.EqualFold(name, "Transfer-Encoding"):
			return nil, errMalformed("Transfer-Encoding is not supported; send Content-Length")
		}
		f.Fields = append(f.Fields, Field{Name: name, Value: value})
	}
	if contentLength > int64(r.lim.MaxBodyBytes) {
		return nil, campbus.FatalErrorf(http.StatusRequestEntityTooLarge, campbus.CodeTooLarge,
			"body of %d bytes is over the limit of %d bytes", contentLength, r.lim.MaxBodyBytes)
	}
	if contentLength > 0 {
		f.Body = make([]byte, contentLength)
		if _, err := io.ReadFull(r.buf(), f.Body); err != nil {
			return nil, unexpected(err)
		}
	}
	return f, nil
}

// readLine returns one line without its line end, charging its bytes to
// budget. inFields tells whether the start line was already read: an EOF is
// then unexpected, and the empty line that ends the fields is not charged (the
// limit covers the start line and the fields, PROTOCOL.md §1).
func (r *Reader) readLine(budget *int, inFields bool) ([]byte, error) {
	line, err := r.buf().ReadSlice('\n')
	if !inFields || !isLineEnd(line) {
		*budget -= len(line)
	}
	if *budget < 0 || errors.Is(err, bufio.ErrBufferFull) {
		return nil, campbus.FatalErrorf(http.StatusRequestHeaderFieldsTooLarge, campbus.CodeTooLarge,
			"start line and fields are over the limit of %d bytes", r.lim.MaxHeaderBytes)
	}
	if err != nil {
		if errors.Is(err, io.EOF) && (inFields || len(line) > 0) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return nil, errMalformed("stray CR or NUL inside a line")
	}
	return line, nil
}

// isLineEnd reports whether line is an empty line: a bare LF or CRLF.
func isLineEnd(line []byte) bool {
	return string(line) == "\n" || string(line) == "\r\n"
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func parseStartLine(f *Frame, line string) error {
	first, rest, ok := strings.Cut(line, " ")
	if !ok {
		return errMalformed("start line %q is not \"POST /<command> HTTP/1.1\"", clip(line))
	}
	if strings.HasPrefix(first, "HTTP/") {
		if !validVersion(first) {
			return errMalformed("unsupported protocol version %q", clip(first))
		}
		code, reason, _ := strings.Cut(rest, " ")
		if len(code) != 3 || !isDigits(code) || code[0] == '0' {
			return errMalformed("status line %q has no 3-digit status", clip(line))
		}
		f.Status, _ = strconv.Atoi(code)
		f.Reason = reason
		return nil
	}
	target, version, ok := strings.Cut(rest, " ")
	if !ok || !isToken(first) || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \t") || !validVersion(version) {
		return errMalformed("start line %q is not \"POST /<command> HTTP/1.1\"", clip(line))
	}
	f.Method, f.Target = first, target
	return nil
}

func validVersion(v string) bool { return v == "HTTP/1.1" || v == "HTTP/1.0" }

func parseField(line []byte) (name, value string, err error) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || !isToken(string(line[:i])) {
		return "", "", errMalformed("field line %q is not \"Name: value\"", clip(string(line)))
	}
	return string(line[:i]), strings.Trim(string(line[i+1:]), " \t"), nil
}

// parseContentLength parses 1*DIGIT. A number too big for an int64 is
// malformed; any other number is compared with the body limit by the caller,
// so a long but valid length gets 413, not 400.
func parseContentLength(v string) (int64, error) {
	if !isDigits(v) {
		return 0, errMalformed("Content-Length %q is not a decimal number", clip(v))
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errMalformed("Content-Length %q is out of range", clip(v))
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// clip shortens untrusted text quoted in error sentences.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
