package wire

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/campbus/campbus"
)

// AppendRequest appends a request frame for command with a JSON body. An
// empty requestID sends no Request-Id field.
func AppendRequest(dst []byte, command, requestID string, body []byte) []byte {
	dst = append(dst, "POST /"...)
	dst = append(dst, command...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	return appendFieldsAndBody(dst, requestID, body)
}

// AppendResponse appends a response frame with a JSON body, repeating the
// request's Request-Id when it had one.
func AppendResponse(dst []byte, status int, requestID string, body []byte) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, campbus.StatusText(status)...)
	dst = append(dst, "\r\n"...)
	if status == http.StatusServiceUnavailable {
		if after := retryAfter(body); after > 0 {
			dst = append(dst, "Retry-After: "...)
			dst = strconv.AppendInt(dst, int64(after), 10)
			dst = append(dst, "\r\n"...)
		}
	}
	return appendFieldsAndBody(dst, requestID, body)
}

// retryAfter returns the "retryAfter" of a 503's body (PROTOCOL.md §11), or
// 0 when it has none.
func retryAfter(body []byte) int {
	var b struct {
		RetryAfter int `json:"retryAfter"`
	}
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	return b.RetryAfter
}

// AppendEvent appends an event frame of type typ with a JSON body.
func AppendEvent(dst []byte, typ string, body []byte) []byte {
	dst = append(dst, "EVENT /"...)
	dst = append(dst, typ...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	return appendFieldsAndBody(dst, "", body)
}

func appendFieldsAndBody(dst []byte, requestID string, body []byte) []byte {
	if requestID != "" {
		dst = append(dst, "Request-Id: "...)
		dst = append(dst, requestID...)
		dst = append(dst, "\r\n"...)
	}
	if len(body) > 0 {
		dst = append(dst, "Content-Type: application/json\r\n"...)
	}
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}
