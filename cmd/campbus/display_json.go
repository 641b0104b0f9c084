package main

import (
	"bytes"
	"encoding/json"

	"github.com/campbus/campbus/client"
)

// jsonView writes one JSON object per line for programs (--json): responses
// and events with their bodies as the server sent them, and the client's own
// refusals, but no prompts, no echo and no hints.
type jsonView struct {
	con console
}

// The objects jsonView writes, told apart by kind.
type (
	jsonResponse struct {
		Kind    string          `json:"kind"` // "response"
		Command string          `json:"command"`
		Status  int             `json:"status"`
		Body    json.RawMessage `json:"body"`
	}
	jsonEvent struct {
		Kind   string          `json:"kind"` // "event"
		Type   string          `json:"type"`
		Body   json.RawMessage `json:"body"`
		Missed bool            `json:"missed,omitempty"` // it happened while the client was away
	}
	jsonMistake struct {
		Kind  string `json:"kind"` // "error": the line was not sent
		Error string `json:"error"`
	}
	jsonFatal struct {
		Kind   string `json:"kind"` // "error": the client ends
		Error  string `json:"error"`
		Status int    `json:"status"`
		Code   string `json:"code"`
		Exit   int    `json:"exit"` // the exit status that follows
	}
	jsonHelp struct {
		Kind     string        `json:"kind"` // "help"
		Text     string        `json:"text"`
		Commands []commandHelp `json:"commands,omitempty"`
	}
)

func (j *jsonView) echo(string, string, bool) {}

func (j *jsonView) result(command string, resp *client.Response, _ ...textLine) {
	j.emit(jsonResponse{Kind: "response", Command: command, Status: resp.Status, Body: jsonBody(resp.Body)})
}

func (j *jsonView) failure(command string, resp *client.Response, _ string) {
	j.result(command, resp)
}

func (j *jsonView) event(ev client.Event) {
	j.emit(jsonEvent{Kind: "event", Type: ev.Type, Body: jsonBody(ev.Raw)})
}

func (j *jsonView) connection(note connectionNote) {
	note.Kind = "connection"
	j.emit(note)
}

func (j *jsonView) missed(ev client.Event) {
	j.emit(jsonEvent{Kind: "event", Type: ev.Type, Body: jsonBody(ev.Raw), Missed: true})
}

func (j *jsonView) mistake(text, _ string) {
	j.emit(jsonMistake{Kind: "error", Error: text})
}

func (j *jsonView) retrying(note retryNote) {
	note.Kind = "retry"
	j.emit(note)
}

func (j *jsonView) fatal(refused *checkinRefused) {
	j.emit(jsonFatal{Kind: "error", Error: refused.Error(), Status: refused.cause.Status, Code: refused.cause.Code, Exit: refused.ExitCode()})
}

func (j *jsonView) help(intro string, commands []commandHelp) {
	j.emit(jsonHelp{Kind: "help", Text: intro, Commands: commands})
}

// jsonBody returns a body as JSON: as it came when it is JSON, {} when it is
// empty, and as a JSON string when a server sent something else.
func jsonBody(body []byte) json.RawMessage {
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return json.RawMessage(`{}`)
	case json.Valid(body):
		return body
	}
	var quoted bytes.Buffer
	enc := json.NewEncoder(&quoted)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(string(body)) // a string always encodes
	return bytes.TrimSuffix(quoted.Bytes(), []byte("\n"))
}

// emit writes v on one line, Hangul and < > & as they are.
func (j *jsonView) emit(v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// jsonBody makes every body valid JSON, so this is a bug: say so in
		// the stream rather than leave a hole in it.
		b.Reset()
		_ = enc.Encode(jsonMistake{Kind: "error", Error: "connect: encode output: " + err.Error()})
	}
	j.con.Print(string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))))
}
