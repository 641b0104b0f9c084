package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus/bus"
)

// Ready returns nil when the node serves campers: the bus accepts
// connections, JetStream runs, the TCP listener is up and the event log
// has room. A node alone also needs JetStream to answer; a node of a
// cluster needs to see the cluster's majority. A survivor of a lost node
// whose streams are electing their leaders is ready all the same: it
// answers every request (some with 503 unavailable for a few seconds), and
// a load balancer that dropped it would drop the camp's healthy half with
// the dead node (Electing says what is electing).
func (n *Node) Ready(ctx context.Context) error {
	ns := n.bus.Server()
	switch {
	case !ns.Running():
		return errors.New("the bus is not running")
	case !ns.JetStreamEnabled():
		return errors.New("JetStream is not enabled")
	case n.ln == nil || n.hub == nil || !n.hub.Accepting():
		return errors.New("the campers' listener is not up")
	}
	if n.bus.Clustered() {
		if det := n.liveness; det != nil && det.CutOff() {
			return errors.New("out of sight of the cluster's majority: its campers are served by the others")
		}
	} else if err := n.handlers.Ready(ctx); err != nil {
		return fmt.Errorf("JetStream does not answer: %w", err)
	}
	if u := n.handlers.StoreUsage(); u.Full {
		return fmt.Errorf("the event log is full, writes get 507 storage-full: %s", u.Reason)
	}
	return nil
}

// replicatedStreams are the streams the camp's state lives in, the
// campers bucket's among them.
var replicatedStreams = []string{bus.GroupsStream, bus.DirectsStream, "KV_" + bus.CampersBucket}

// electingAsk bounds the question to each stream's leader in Electing.
const electingAsk = 500 * time.Millisecond

// Electing returns what of the camp's replicated state has no leader as
// this node sees it, sorted: "meta" for JetStream's meta group (streams
// cannot be created or changed, history reads wait), and the names of the
// streams and buckets whose leader does not answer. Requests that need
// them are answered 503 unavailable until they have one. A node alone
// elects nothing.
func (n *Node) Electing(ctx context.Context) []string {
	if !n.bus.Clustered() {
		return nil
	}
	var (
		mu  sync.Mutex
		out []string
		wg  sync.WaitGroup
	)
	if !n.bus.Server().JetStreamIsCurrent() {
		out = append(out, "meta")
	}
	js, err := jetstream.New(n.handlerNC)
	if err != nil {
		return append(out, replicatedStreams...)
	}
	for _, a := range replicatedStreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			actx, cancel := context.WithTimeout(ctx, electingAsk)
			defer cancel()
			st, err := js.Stream(actx, a)
			if err == nil && st.CachedInfo().Cluster != nil && st.CachedInfo().Cluster.Leader != "" {
				return
			}
			mu.Lock()
			out = append(out, a)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(out)
	return out
}
