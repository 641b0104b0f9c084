package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/campbus/campbus"
)

// FuzzReadFrame reads every frame of arbitrary input and checks what must
// hold whatever comes: no panic, only the errors the protocol names, bodies
// within the limit, the same result however the input is split, and frames
// that survive being written again and read back.
func FuzzReadFrame(f *testing.F) {
	for _, tc := range validCases {
		f.Add([]byte(tc.input))
	}
	for _, tc := range errorCases {
		f.Add([]byte(tc.input))
	}
	f.Add(AppendRequest(nil, "checkin", "1", []byte(checkinBody)))
	f.Add(AppendResponse(nil, http.StatusOK, "1", []byte("{}")))
	f.Add(AppendEvent(nil, "join", []byte(`{"group":1,"campId":"J005","members":["J004","J005"]}`)))

	f.Fuzz(func(t *testing.T, data []byte) {
		frames, err := readAll(NewReader(bytes.NewReader(data), DefaultLimits))
		checkFuzzError(t, err)
		for _, fr := range frames {
			checkFuzzFrame(t, fr)
		}

		// The same bytes one at a time must give the same frames and error.
		split, splitErr := readAll(NewReader(iotest.OneByteReader(bytes.NewReader(data)), DefaultLimits))
		if len(split) != len(frames) {
			t.Fatalf("read whole: %d frames then %v; one byte at a time: %d frames then %v", len(frames), err, len(split), splitErr)
		}
		for i := range frames {
			if !sameFrame(frames[i], split[i]) {
				t.Fatalf("frame %d read whole: %+v; one byte at a time: %+v", i, frames[i], split[i])
			}
		}
		if !sameReadError(err, splitErr) {
			t.Fatalf("read whole ends with %v; one byte at a time with %v", err, splitErr)
		}

		// A stray CRLF after the last frame is no frame: the stream still
		// ends cleanly, after the same frames (unless the empty lines already
		// there leave no room for it under the header limit).
		trailingLineEnds := len(data) - len(bytes.TrimRight(data, "\r\n"))
		if errors.Is(err, io.EOF) && trailingLineEnds+2 <= DefaultMaxHeaderBytes {
			padded, paddedErr := readAll(NewReader(bytes.NewReader(append(data[:len(data):len(data)], "\r\n"...)), DefaultLimits))
			if len(padded) != len(frames) || !errors.Is(paddedErr, io.EOF) {
				t.Fatalf("%d frames then a clean end, but with a CRLF after them: %d frames then %v", len(frames), len(padded), paddedErr)
			}
		}
	})
}

// checkFuzzError fails unless err is a clean or cut-short end of stream, or
// a fatal frame error with the status and code PROTOCOL.md §3 gives it.
func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	var perr *campbus.Error
	if !errors.As(err, &perr) {
		t.Fatalf("error %v (%T) is neither an end of stream nor a *campbus.Error", err, err)
	}
	if !perr.Fatal {
		t.Fatalf("frame error %v is not fatal", perr)
	}
	wantCode := map[int]string{
		http.StatusBadRequest:                  campbus.CodeMalformed,
		http.StatusRequestEntityTooLarge:       campbus.CodeTooLarge,
		http.StatusRequestHeaderFieldsTooLarge: campbus.CodeTooLarge,
	}
	code, ok := wantCode[perr.Status]
	if !ok || perr.Code != code {
		t.Fatalf("frame error %v has status %d and code %q; want 400 malformed, 413 or 431 too-large", perr, perr.Status, perr.Code)
	}
	if perr.Message == "" {
		t.Fatalf("frame error %+v has no sentence", perr)
	}
}

// checkFuzzFrame checks one frame that was read without error.
func checkFuzzFrame(t *testing.T, fr *Frame) {
	t.Helper()
	if len(fr.Body) > DefaultMaxBodyBytes {
		t.Fatalf("body of %d bytes is over the limit of %d", len(fr.Body), DefaultMaxBodyBytes)
	}
	if cl := fr.Get(FieldContentLength); cl != "" {
		if n, err := strconv.Atoi(cl); err != nil || n != len(fr.Body) {
			t.Fatalf("Content-Length %q but a body of %d bytes", cl, len(fr.Body))
		}
	} else if len(fr.Body) != 0 {
		t.Fatalf("no Content-Length but a body of %d bytes", len(fr.Body))
	}
	if fr.IsResponse() == (fr.Method != "") {
		t.Fatalf("frame %+v is neither a response nor a request, or both", fr)
	}

	id := fr.Get(FieldRequestID)
	var again []byte
	switch {
	case fr.IsResponse():
		again = AppendResponse(nil, fr.Status, id, fr.Body)
	case fr.Method == MethodPost:
		again = AppendRequest(nil, fr.Name(), id, fr.Body)
	case fr.IsEvent():
		again = AppendEvent(nil, fr.Name(), fr.Body)
		id = ""
	default:
		return // other methods are read for the server to refuse; nothing writes them
	}
	// The written head has fields the input may not have had, so it may be
	// a little longer than the input's; the body limit stays.
	lim := Limits{MaxHeaderBytes: len(again) + 16, MaxBodyBytes: DefaultMaxBodyBytes}
	r := NewReader(bytes.NewReader(again), lim)
	back, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("frame %+v written as %q does not read back: %v", fr, again, err)
	}
	if back.Name() != fr.Name() || back.Status != fr.Status || back.IsEvent() != fr.IsEvent() ||
		back.Get(FieldRequestID) != id || !bytes.Equal(back.Body, fr.Body) {
		t.Fatalf("frame %+v written as %q reads back as %+v", fr, again, back)
	}
	if _, err := r.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("frame %+v written as %q leaves more behind: %v", fr, again, err)
	}
}

func sameFrame(a, b *Frame) bool {
	if a.Method != b.Method || a.Target != b.Target || a.Status != b.Status || a.Reason != b.Reason ||
		!bytes.Equal(a.Body, b.Body) || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	return true
}

func sameReadError(a, b error) bool {
	var pa, pb *campbus.Error
	if errors.As(a, &pa) && errors.As(b, &pb) {
		return pa.Status == pb.Status && pa.Code == pb.Code && pa.Fatal == pb.Fatal
	}
	return errors.Is(a, io.EOF) && errors.Is(b, io.EOF) ||
		errors.Is(a, io.ErrUnexpectedEOF) && errors.Is(b, io.ErrUnexpectedEOF)
}
