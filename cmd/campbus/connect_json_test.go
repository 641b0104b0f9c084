package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/wire"
)

func TestConnectJSONWritesOneObjectPerLineWithoutPromptsOrEcho(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFakeCampServer(t, campHandler(t))

	script := "J004\nmission 4\nmission\ndance\ncomplete\ncheckout\n"
	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "--json"}, strings.NewReader(script), &stdout)
	require.NoError(t, err, "checkout ends the client with exit status 0")

	assert.Equal(t, []string{
		`{"kind":"response","command":"checkin","status":200,"body":{"campId":"J004","group":1,"members":["J001","J004"]}}`,
		`{"kind":"event","type":"message","body":{"group":1,"from":"J005","text":"반갑습니다","seq":1,"remaining":1}}`,
		`{"kind":"response","command":"mission","status":200,"body":{"day":4,"keywords":"Heap, Stack"}}`,
		`{"kind":"error","error":"usage: mission <day>, e.g. mission 4"}`,
		`{"kind":"error","error":"unknown command \"dance\"; type help to see the commands"}`,
		`{"kind":"response","command":"complete","status":403,"body":{"code":"not-host","error":"only the host J001 can complete the session"}}`,
		`{"kind":"response","command":"checkout","status":200,"body":{"campId":"J004","group":1,"activeMs":12}}`,
	}, transcriptLines(stdout.String()))
	for _, line := range transcriptLines(stdout.String()) {
		var obj map[string]any
		assert.NoError(t, json.Unmarshal([]byte(line), &obj), "each line is one JSON object: %s", line)
	}
}

func TestConnectJSONHelpListsTheCommands(t *testing.T) {
	srv := startFakeCampServer(t, campHandler(t))
	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "--json", "J004"}, strings.NewReader("help\n"), &stdout)
	require.NoError(t, err)
	lines := transcriptLines(stdout.String())
	require.Len(t, lines, 2, "the checkin, then help")
	var help jsonHelp
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &help))
	assert.Equal(t, "help", help.Kind)
	assert.Contains(t, help.Commands, commandHelp{Name: "mission", Usage: "mission <day>", Example: "mission 4", About: "keywords of a day's mission"})
}

func TestJSONBodyKeepsJSONAndQuotesAnythingElse(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"a JSON body stays as it is", `{"a":1}`, `{"a":1}`},
		{"an empty body is an empty object", ``, `{}`},
		{"a body that is not JSON becomes a string", `oops <b>`, `"oops <b>"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(jsonBody([]byte(tc.body))))
		})
	}
}

func TestConnectTraceShowsRawFramesBothWaysInTheTranscript(t *testing.T) {
	srv := startFakeCampServer(t, func(req *wire.Frame) reply {
		if req.Name() == campbus.CmdMission {
			return reply{frames: ok(req, `{"day":4,"keywords":"Heap, Stack"}`)}
		}
		return campHandler(t)(req)
	})
	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "--trace", "J004"}, strings.NewReader("mission 4\n"), &stdout)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`> checkin J004`,
		`>> POST /checkin HTTP/1.1\r\n`,
		`>> Request-Id: 1\r\n`,
		`>> Content-Type: application/json\r\n`,
		`>> Content-Length: 17\r\n`,
		`>> \r\n`,
		`>> {"campId":"J004"}`,
		`<< HTTP/1.1 200 OK\r\n`,
		`<< Request-Id: 1\r\n`,
		`<< Content-Type: application/json\r\n`,
		`<< Content-Length: 53\r\n`,
		`<< \r\n`,
		`<< {"campId":"J004","group":1,"members":["J001","J004"]}`,
		`< checkin success to group#1 (members: J001, J004)`,
		`> mission 4`,
		`>> POST /mission HTTP/1.1\r\n`,
		`>> Request-Id: 2\r\n`,
		`>> Content-Type: application/json\r\n`,
		`>> Content-Length: 9\r\n`,
		`>> \r\n`,
		`>> {"day":4}`,
		`<< HTTP/1.1 200 OK\r\n`,
		`<< Request-Id: 2\r\n`,
		`<< Content-Type: application/json\r\n`,
		`<< Content-Length: 34\r\n`,
		`<< \r\n`,
		`<< {"day":4,"keywords":"Heap, Stack"}`,
		`< keywords are "Heap, Stack"`,
	}, transcriptLines(stdout.String()))
}

func TestConnectTraceWithJSONGoesToStderr(t *testing.T) {
	srv := startFakeCampServer(t, campHandler(t))
	var stdout, stderr bytes.Buffer
	err := runConnect(context.Background(), []string{"--addr", srv.addr(), "--json", "--trace", "J004"},
		strings.NewReader(""), &stdout, &stderr)
	require.NoError(t, err)
	assert.Equal(t, `{"kind":"response","command":"checkin","status":200,"body":{"campId":"J004","group":1,"members":["J001","J004"]}}`+"\n",
		stdout.String(), "stdout stays pure JSON")
	assert.Contains(t, stderr.String(), `>> POST /checkin HTTP/1.1\r\n`+"\n")
	assert.Contains(t, stderr.String(), `<< HTTP/1.1 200 OK\r\n`+"\n")
}

func TestTraceLinesShowLineEndsAndEscapeControls(t *testing.T) {
	frame := []byte("EVENT /direct HTTP/1.1\nContent-Length: 26\r\n\r\n{\"from\":\"J005\",\"text\":\"\x1b\"}")
	assert.Equal(t, []string{
		`<< EVENT /direct HTTP/1.1\n`,
		`<< Content-Length: 26\r\n`,
		`<< \r\n`,
		`<< {"from":"J005","text":"\x1b"}`,
	}, traceLines(client.Received, frame), "a bare LF shows as \\n; an escape byte in the body cannot drive the terminal")
	assert.Equal(t, []string{`>> \r\n`, `>> POST /complete HTTP/1.1\r\n`, `>> \r\n`},
		traceLines(client.Sent, []byte("\r\nPOST /complete HTTP/1.1\r\n\r\n")), "a blank line before the start line is not the end of the fields")
}
