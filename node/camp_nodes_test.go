package node

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/liveness"
)

// upgradeStatus asks webURL's /ws for a WebSocket with that Origin ("" for
// none) and returns the status: 101 when let in, 403 when refused.
func upgradeStatus(t *testing.T, webURL, origin string) int {
	t.Helper()
	req, err := http.NewRequest("GET", webURL+"/ws", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// checkinNodes checks c in as id, trying again while the cluster elects
// (5xx), and returns the response.
func (c *camper) checkinNodes(id string) (campbus.CheckinResponse, map[string]json.RawMessage) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f := c.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id})
		if f.Status >= 500 && time.Now().Before(deadline) {
			c.t.Logf("checkin %s: %d %s; asking again", id, f.Status, f.Body)
			time.Sleep(250 * time.Millisecond)
			continue
		}
		require.Equal(c.t, 200, f.Status, "checkin %s: %s", id, f.Body)
		var r campbus.CheckinResponse
		var raw map[string]json.RawMessage
		require.NoError(c.t, json.Unmarshal(f.Body, &r))
		require.NoError(c.t, json.Unmarshal(f.Body, &raw))
		c.id = id
		return r, raw
	}
}

func TestACheckinInAClusterListsTheCampsLiveNodes(t *testing.T) {
	ns := startCluster(t, 3, func(o *Options) {
		switch o.Name {
		case "n1": // told what to advertise
			o.Advertise, o.WebAddr, o.WebAdvertise = "n1.camp.test:2022", "127.0.0.1:0", "https://n1.camp.test:8443/"
		case "n2": // its listen addresses
			o.WebAddr = "127.0.0.1:0"
		}
		// n3 serves no page
	})
	n2Web := "http://" + ns[1].WebAddr().String()
	want := []campbus.NodeInfo{
		{Name: "n1", TCP: "n1.camp.test:2022", Web: "https://n1.camp.test:8443"},
		{Name: "n2", TCP: ns[1].Addr().String(), Web: n2Web},
		{Name: "n3", TCP: ns[2].Addr().String()},
	}
	for i, n := range ns {
		require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, n.liveness.Camp()) }, waitFor, 50*time.Millisecond,
			"n%d hears every node's advert: %+v", i+1, n.liveness.Camp())
	}
	for i, n := range ns {
		r, raw := dial(t, n).checkinNodes(ids("J", i+1, i+1)[0])
		assert.Equal(t, want, r.Nodes, "the checkin on n%d", i+1)
		var entries []map[string]any
		require.NoError(t, json.Unmarshal(raw["nodes"], &entries))
		assert.NotContains(t, entries[2], "web", "a node without a web front has no web entry")
	}

	// A page of one node may open another's socket; another site's may not.
	n1Web := "http://" + ns[0].WebAddr().String()
	assert.Equal(t, http.StatusSwitchingProtocols, upgradeStatus(t, n2Web, "https://n1.camp.test:8443"), "n1's advertised origin, at n2")
	assert.Equal(t, http.StatusSwitchingProtocols, upgradeStatus(t, n1Web, n2Web), "n2's origin, at n1")
	assert.Equal(t, http.StatusSwitchingProtocols, upgradeStatus(t, n2Web, n2Web), "n2's own")
	assert.Equal(t, http.StatusForbidden, upgradeStatus(t, n2Web, "https://evil.example"), "another site")
	assert.Equal(t, http.StatusForbidden, upgradeStatus(t, n2Web, "http://n1.camp.test:8443"), "n1's host, but not its origin (scheme)")
	assert.Equal(t, http.StatusForbidden, upgradeStatus(t, n2Web, "https://n1.camp.test"), "n1's host, but not its origin (port)")

	// n1 is killed: within the liveness timeout the others list it no
	// more, and its pages may still open their sockets (a browser of n1's
	// moves to them).
	lost := time.Now()
	crash(t, ns[0])
	wantLeft := want[1:]
	for _, n := range ns[1:] {
		require.Eventually(t, func() bool { return assert.ObjectsAreEqual(wantLeft, n.liveness.Camp()) }, waitFor, 20*time.Millisecond,
			"%s drops n1: %+v", n.opts.Name, n.liveness.Camp())
	}
	took := time.Since(lost)
	t.Logf("n1 left the list %v after it was killed", took.Round(time.Millisecond))
	assert.Less(t, took, liveness.DefaultTimeout+time.Second, "within the liveness timeout, and a beat")
	r, _ := dial(t, ns[1]).checkinNodes("J004")
	assert.Equal(t, wantLeft, r.Nodes)
	assert.Equal(t, http.StatusSwitchingProtocols, upgradeStatus(t, n2Web, "https://n1.camp.test:8443"), "a page of n1, gone, at n2")
}

func TestANodeAloneSendsNoNodesAndAdvertisesItsHostName(t *testing.T) {
	n := startNode(t, Options{Addr: "0.0.0.0:0", WebAddr: "0.0.0.0:0"})
	r, raw := dial(t, n).checkinNodes("J001")
	assert.Nil(t, r.Nodes)
	assert.NotContains(t, raw, "nodes")

	host, err := os.Hostname()
	require.NoError(t, err)
	port := func(a string) string { return a[strings.LastIndex(a, ":")+1:] }
	assert.Equal(t, liveness.Advert{
		TCP: host + ":" + port(n.Addr().String()),
		Web: "http://" + host + ":" + port(n.WebAddr().String()),
	}, n.advert, "0.0.0.0 stands for the machine: its name is advertised")
	assert.Equal(t, []campbus.NodeInfo{{Name: "campbus", TCP: n.advert.TCP, Web: n.advert.Web}}, n.liveness.Camp())
}

func TestAnAdvertiseThatIsNoAddressIsRefusedWithItsFlag(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Advertise: "camp.example"}, "--advertise"},
		{Options{Advertise: ":2022"}, "--advertise"},
		{Options{Advertise: "camp.example:http"}, "--advertise"},
		{Options{WebAddr: "127.0.0.1:0", WebAdvertise: "camp.example:8080"}, "--web-advertise"},
		{Options{WebAddr: "127.0.0.1:0", WebAdvertise: "ws://camp.example"}, "--web-advertise"},
		{Options{WebAddr: "127.0.0.1:0", WebAdvertise: "https://camp.example/page"}, "--web-advertise"},
		{Options{WebAdvertise: "https://camp.example"}, "--web-advertise"}, // the web front is off
	} {
		err := checkAdvertise(tc.opts)
		require.Error(t, err, "%+v", tc.opts)
		assert.Contains(t, err.Error(), tc.want)
	}
	require.NoError(t, checkAdvertise(Options{Advertise: "n1.camp.example:2022", WebAddr: ":8080", WebAdvertise: "https://n1.camp.example/"}))
}

func TestAnUnspecifiedHostIsAdvertisedAsTheMachinesName(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	for in, want := range map[string]string{
		"0.0.0.0:2022":   host + ":2022",
		"[::]:2022":      host + ":2022",
		":2022":          host + ":2022",
		"127.0.0.1:2022": "127.0.0.1:2022",
		"10.0.0.1:2022":  "10.0.0.1:2022",
		"[fe80::1]:2022": "[fe80::1]:2022",
		"camp.test:2022": "camp.test:2022",
	} {
		assert.Equal(t, want, reachable(in), in)
	}
}
