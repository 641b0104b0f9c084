package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return getWith(t, http.DefaultClient, url)
}

// getWith GETs url with client and returns the status and the body.
func getWith(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestMetricsAndHealthAreServed(t *testing.T) {
	n := startNode(t, Options{MonitorAddr: "127.0.0.1:0"})
	base := "http://" + n.MonitorAddr().String()
	cs := group(t, n, "J001", "J002")
	startSession(t, cs, 5)
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "hi"}, nil)
	cs[0].expect(campbus.EventMessage)
	cs[0].fails(campbus.CmdMission, map[string]int{"day": 5}, 404, campbus.CodeNoMission)
	dial(t, n).fails("dance", nil, 404, campbus.CodeUnknownCommand)

	status, body := get(t, base+"/healthz")
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"status":"ok"}`, body)

	status, body = get(t, base+"/metrics")
	require.Equal(t, 200, status)
	for _, want := range []string{
		`campbus_requests_total{command="checkin",status="200",transport="tcp"} 2`,
		`campbus_requests_total{command="mission",status="404",transport="tcp"} 1`,
		`campbus_requests_total{command="unknown",status="404",transport="tcp"} 1`,
		`campbus_events_delivered_total{type="join"} 1`,
		`campbus_events_delivered_total{type="message"} 1`,
		`campbus_events_delivered_total{type="peersession"} 1`,
		`campbus_connections 3`,
		`campbus_campers_checked_in 2`,
		`campbus_groups 1`,
		`campbus_sessions_active 1`,
		`campbus_drops_total{reason="slow-consumer"} 0`,
		`campbus_route_connect_failures_total 0`,
		`campbus_request_duration_seconds_count{command="message"} 1`,
	} {
		assert.Contains(t, body, want+"\n")
	}

	status, body = get(t, base+"/varz")
	require.Equal(t, 200, status)
	var varz struct {
		Name      string `json:"server_name"`
		JetStream any    `json:"jetstream"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &varz))
	assert.Equal(t, "campbus", varz.Name)
	status, body = get(t, base+"/jsz?streams=true")
	require.Equal(t, 200, status)
	assert.True(t, strings.Contains(body, `"GROUPS"`), "jsz lists the GROUPS stream")
}

func TestANodeWhoseListenerIsDownIsNotReady(t *testing.T) {
	n := startNode(t, Options{})
	ctx := context.Background()
	require.NoError(t, n.Ready(ctx))
	require.NoError(t, n.hub.Shutdown(ctx))
	assert.ErrorContains(t, n.Ready(ctx), "listener")
}
