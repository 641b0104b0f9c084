package handlers

import (
	"errors"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// FuzzRequestFields feeds request bodies to the decoding and validation
// every handler uses. It must never panic; every refusal is a 400 with one of
// the field codes; everything accepted satisfies the field's rule.
func FuzzRequestFields(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"campId":"J004"}`, `{"day":4}`, `{"day":4.0}`, `{"day":"4"}`, `{"maxCount":10000}`,
		`{"text":"반갑습니다"}`, `{"campId":"J005","text":"hello"}`, `{"limit":1000}`, `null`, `[1]`,
		`{"text":"\ud800"}`, `{"day":1e300}`, `{"day":-0}`, "{\"text\":\"\xff\"}", `{"campId":null}`,
	} {
		f.Add([]byte(seed))
	}
	ids := campbus.MustParseIDRange(campbus.DefaultCampIDs)
	f.Fuzz(func(t *testing.T, body []byte) {
		fl, err := decodeBody(body)
		if err != nil {
			requireFieldError(t, err, campbus.CodeBadRequest)
			return
		}
		if n, ok := fl.integer("day", 1, 1<<53-1); ok && n < 1 {
			t.Fatalf("day %d accepted below 1", n)
		}
		if n, ok := fl.integer("maxCount", 1, MaxSessionMessages); ok && (n < 1 || n > MaxSessionMessages) {
			t.Fatalf("maxCount %d accepted out of bounds", n)
		}
		if text, err := fl.text(); err != nil {
			requireFieldError(t, err, campbus.CodeBadRequest)
		} else if text == "" || !utf8.ValidString(text) {
			t.Fatalf("text %q accepted", text)
		}
		if id, err := fl.campID(ids); err != nil {
			requireFieldError(t, err, campbus.CodeBadCampID)
		} else if ids.Check(id) != nil {
			t.Fatalf("campId %q accepted outside the range", id)
		}
	})
}

func requireFieldError(t *testing.T, err error, code string) {
	t.Helper()
	var perr *campbus.Error
	if !errors.As(err, &perr) || perr.Status != http.StatusBadRequest || perr.Code != code || perr.Message == "" {
		t.Fatalf("want a 400 %s with a sentence, got %v", code, err)
	}
}

// FuzzPlainText holds the message body's fast path to the general one:
// whatever it reads, decodeBody and fields.text read the same.
func FuzzPlainText(f *testing.F) {
	for _, seed := range []string{
		`{"text":"hi"}`, `{"text":""}`, `{"text":"반갑습니다 🚀"}`, `{"text":"a\"b"}`, `{"text":"a\\b"}`,
		"{\"text\":\"\xff\"}", "{\"text\":\"tab\there\"}", `{"text":"x"} `, ` {"text":"x"}`, `{"text":"x","y":1}`,
		`{"text":"}"}`, `{"text":"\u0041"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := plainText(body)
		if !ok {
			return
		}
		fl, err := decodeBody(body)
		if err != nil {
			t.Fatalf("fast path read %q from a body decodeBody refuses: %v", fast, err)
		}
		slow, err := fl.text()
		if err != nil || slow != fast {
			t.Fatalf("fast path read %q, fields.text %q (%v)", fast, slow, err)
		}
	})
}

// BenchmarkMessageText: a message body read by the fast path and by the
// general decoding (a body the fast path leaves to it).
func BenchmarkMessageText(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"plain", `{"text":"hello everyone, the 128 bytes of a benchmark message are about this long, give or take a few more words"}`},
		{"decoded", `{"text": "hello everyone, the 128 bytes of a benchmark message are about this long, give or take a few more words"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := &request{Request: &bus.Request{Body: []byte(bc.body)}}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := messageText(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
