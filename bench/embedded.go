package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/node"
)

// Embedded is a campbus node the bench started in its own process, on a
// random loopback port, with its data in a temporary directory.
type Embedded struct {
	n   *node.Node
	dir string
}

// StartEmbedded starts a node for the bench: campers on 127.0.0.1 at a
// random port, no observation port, no rate limit, a fresh data directory.
// A nil logger discards the node's log.
func StartEmbedded(ctx context.Context, ids campbus.IDRange, groupSize int, logger *slog.Logger) (*Embedded, error) {
	dir, err := os.MkdirTemp("", "campbus-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: data directory: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n, err := node.Start(ctx, node.Options{
		Addr:      "127.0.0.1:0",
		NATSAddr:  "",
		DataDir:   dir,
		CampIDs:   ids,
		GroupSize: groupSize,
		Logger:    logger,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: start embedded node: %w", err)
	}
	return &Embedded{n: n, dir: dir}, nil
}

// Addr returns the node's campers' address.
func (e *Embedded) Addr() string { return e.n.Addr().String() }

// Probe samples the bench's own process, server and bench together; its
// connection count is the node's.
func (e *Embedded) Probe() Probe { return embeddedProbe{e.n} }

// Close shuts the node down and removes its data.
func (e *Embedded) Close(ctx context.Context) error {
	err := e.n.Shutdown(ctx)
	if rerr := os.RemoveAll(e.dir); err == nil {
		err = rerr
	}
	return err
}

type embeddedProbe struct{ n *node.Node }

func (p embeddedProbe) Sample() (Usage, error) {
	u := inProcessUsage()
	u.Conns = p.n.Conns()
	return u, nil
}

func (p embeddedProbe) Scope() string {
	return "embedded: server and bench in one process, so memory includes the bench's clients"
}
