package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// groupState is a group's state after an event. It travels in the
// Campbus-State header of every group event, so the last event on
// log.group.<n> always carries the group's current state.
type groupState struct {
	Members []string `json:"members"`
	Session *session `json:"session,omitempty"`
	// Offset is the offset of the group's last event (0 before the first):
	// the next event gets Offset+1, and the compare-and-set on the group's
	// last event keeps the offsets free of gaps and repeats.
	Offset uint64 `json:"offset,omitempty"`
}

// session is a running peer session.
type session struct {
	Host     string `json:"host"`
	MaxCount int    `json:"maxCount"`
	Count    int    `json:"count"`
}

func (g *groupState) clone() *groupState {
	c := &groupState{Members: slices.Clone(g.Members), Offset: g.Offset}
	if g.Session != nil {
		s := *g.Session
		c.Session = &s
	}
	return c
}

func (g *groupState) has(campID string) bool { return slices.Contains(g.Members, campID) }

// groupEvent is one event to append to a group's log.
type groupEvent struct {
	event  campbus.Event
	origin string // the camper whose request caused it; it gets no copy
	conn   string // the connection of a joining or leaving camper
	// aside: the event takes no place of its own in the group's offsets
	// (a redaction, whose offset names the event it redacts).
	aside bool
}

// loadGroup returns group n's current state and the stream sequence of its
// last event (0 for a group that never had one).
func (s *Service) loadGroup(ctx context.Context, n int) (*groupState, uint64, error) {
	m, err := s.groups.GetLastMsgForSubject(ctx, bus.LogGroupSubject(n))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return &groupState{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load group %d: %w", n, err)
	}
	st := &groupState{}
	if err := json.Unmarshal(bus.ParseEventHeader(m.Header).State, st); err != nil {
		return nil, 0, fmt.Errorf("load group %d: state of event %d: %w", n, m.Sequence, err)
	}
	return st, m.Sequence, nil
}

// loadGroupFromLeader is loadGroup answered by GROUPS' leader, which has
// every event acknowledged so far (JetStream's direct get may be answered
// by a replica that lags).
func (s *Service) loadGroupFromLeader(ctx context.Context, n int) (*groupState, uint64, error) {
	m, found, err := s.lastFromLeader(ctx, bus.GroupsStream, bus.LogGroupSubject(n))
	if err != nil {
		return nil, 0, fmt.Errorf("load group %d from the leader: %w", n, err)
	}
	if !found {
		return &groupState{}, 0, nil
	}
	st := &groupState{}
	if err := json.Unmarshal(bus.ParseEventHeader(m.header).State, st); err != nil {
		return nil, 0, fmt.Errorf("load group %d: state of event %d: %w", n, m.seq, err)
	}
	return st, m.seq, nil
}

// leaderMsg is a stream's message as its leader answers a get.
type leaderMsg struct {
	seq    uint64
	header nats.Header
	data   []byte
}

// lastFromLeader asks stream's leader for the last message on subject;
// found is false when there is none.
func (s *Service) lastFromLeader(ctx context.Context, stream, subject string) (leaderMsg, bool, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": subject})
	m, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return leaderMsg{}, false, err
	}
	var resp struct {
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
		Message *struct {
			Sequence uint64 `json:"seq"`
			Header   []byte `json:"hdrs"`
			Data     []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return leaderMsg{}, false, err
	}
	if resp.Error != nil {
		if resp.Error.Code == http.StatusNotFound {
			return leaderMsg{}, false, nil
		}
		return leaderMsg{}, false, fmt.Errorf("%d %s", resp.Error.Code, resp.Error.Description)
	}
	if resp.Message == nil {
		return leaderMsg{}, false, errors.New("empty answer")
	}
	out := leaderMsg{seq: resp.Message.Sequence, data: resp.Message.Data}
	if len(resp.Message.Header) > 0 {
		if out.header, err = nats.DecodeHeadersMsg(resp.Message.Header); err != nil {
			return leaderMsg{}, false, fmt.Errorf("headers: %w", err)
		}
	}
	return out, true, nil
}

// appendGroupEvent appends ev to group n's log with the group's new state,
// provided the group's last event is still lastSeq. It returns the new
// event's sequence, or an error for which bus.IsWrongLastSequence is true
// when another change came first. msgID is the same for every attempt at
// one change: if an earlier attempt was stored although its answer was
// lost (a leader election in between), JetStream keeps that one and says
// so (duplicate true) instead of storing the change twice.
func (s *Service) appendGroupEvent(ctx context.Context, n int, ev groupEvent, st *groupState, lastSeq uint64, msgID string) (uint64, bool, error) {
	m, err := groupEventMsg(n, ev, st, s.epoch)
	if err != nil {
		return 0, false, err
	}
	ack, err := s.js.PublishMsg(ctx, m, appendOpts(ctx, jetstream.WithExpectLastSequencePerSubject(lastSeq), jetstream.WithMsgID(msgID))...)
	if err != nil {
		return 0, false, err
	}
	if ack.Duplicate {
		return ack.Sequence, true, nil
	}
	s.appended(n, m, st, ack.Sequence)
	return ack.Sequence, false, nil
}

// appendRetryWait is how long a synchronous append waits before it tries
// again when no stream answered it.
const appendRetryWait = 250 * time.Millisecond

// appendOpts returns opts for a synchronous append that waits out a stream
// with no leader: a leader's election takes seconds in NATS, and nobody
// answering means nothing was stored, so the append is tried again every
// appendRetryWait until ctx's deadline (the asker's), instead of failing
// after the client's two retries. Without a deadline it keeps those.
func appendOpts(ctx context.Context, opts ...jetstream.PublishOpt) []jetstream.PublishOpt {
	if deadline, ok := ctx.Deadline(); ok {
		if tries := int(time.Until(deadline) / appendRetryWait); tries > jetstream.DefaultPubRetryAttempts {
			opts = append(opts, jetstream.WithRetryAttempts(tries), jetstream.WithRetryWait(appendRetryWait))
		}
	}
	return opts
}

// groupEventMsg is ev as it is stored under log.group.<n>, with st, the
// group's state after it, and the log's epoch (a string field set from
// the one made at start: it costs the encoding no allocation).
func groupEventMsg(n int, ev groupEvent, st *groupState, epoch string) (*nats.Msg, error) {
	ev.event.Group = n
	ev.event.Epoch = epoch
	data, err := json.Marshal(ev.event)
	if err != nil {
		return nil, err
	}
	state, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	meta := bus.EventMeta{Type: ev.event.Type, Origin: ev.origin, Conn: ev.conn, State: state}
	return &nats.Msg{Subject: bus.LogGroupSubject(n), Data: data, Header: meta.Header()}, nil
}

// appended notes that m, which left group n in state st, is stored as seq.
func (s *Service) appended(n int, m *nats.Msg, st *groupState, seq uint64) {
	s.seats.applyState(n, seq, st)
	s.store.appended(storedSize(m), true)
}

// changeFunc decides a change of a group from its current state: it edits
// st in place and returns the event that records the change, nil to change
// nothing, or a *campbus.Error to refuse it.
type changeFunc func(st *groupState) (*groupEvent, error)

// updateGroup applies change to group n with compare-and-set: on a conflict
// it reloads the state and decides again. It returns the state it decided
// on (the new state when the change was appended) and that state's sequence.
//
// Changes to one group are serialised on this node (so the node does not
// race itself), and start from the state this node last appended, kept in
// memory: a state whose sequence is still the group's last is exact, and
// JetStream refuses the append if it is not. A refusal decided on the kept
// state is decided again on the log's own state before it is returned.
func (s *Service) updateGroup(ctx context.Context, n int, change changeFunc) (*groupState, uint64, error) {
	lock := &s.groupLocks[n%len(s.groupLocks)]
	lock.Lock()
	defer lock.Unlock()

	st, seq, kept := s.groupCache.get(n)
	// The state decided on comes from this node's cache, from any replica
	// of GROUPS (a direct get: fast, but a replica that lags may answer),
	// or from GROUPS' leader. An append is checked by its compare-and-set
	// whatever the state it was decided on; a refusal (or "nothing to do")
	// is returned only when decided on the leader's state, so that no
	// camper is told "not checked in" from a replica that has not yet
	// seen its checkin.
	fromLeader := false
	load := func(leader bool) error {
		var err error
		if leader {
			st, seq, err = s.loadGroupFromLeader(ctx, n)
		} else {
			st, seq, err = s.loadGroup(ctx, n)
		}
		if err != nil {
			return err
		}
		fromLeader = leader
		s.groupCache.put(n, st, seq)
		return nil
	}
	if !kept {
		if err := load(false); err != nil {
			return nil, 0, err
		}
	}
	msgID := s.changeID()
	for try := 0; try < maxCommitTries; try++ {
		next := st.clone()
		ev, err := change(next)
		if err != nil || ev == nil {
			if fromLeader {
				return st, seq, err
			}
			// Decided on a state that may be behind: decide again on the
			// leader's.
			if err := load(true); err != nil {
				return nil, 0, err
			}
			continue
		}
		if !ev.aside {
			next.Offset = st.Offset + 1
			ev.event.Offset = next.Offset
		}
		newSeq, dup, err := s.appendGroupEvent(ctx, n, *ev, next, seq, msgID)
		if bus.IsWrongLastSequence(err) {
			// Another node changed the group first.
			if err := load(false); err != nil {
				return nil, 0, err
			}
			continue
		}
		if err != nil {
			s.groupCache.drop(n) // the append may or may not have happened
			return nil, 0, fmt.Errorf("group %d: %w", n, err)
		}
		if dup {
			// An earlier attempt at this change is the one stored: the log
			// has the group's state.
			s.groupCache.drop(n)
			if err := load(true); err != nil {
				return nil, 0, err
			}
			return st, seq, nil
		}
		s.groupCache.put(n, next, newSeq)
		return next, newSeq, nil
	}
	return nil, 0, campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal,
		"group#%d is too busy right now; try again", n)
}

// changeID returns an id for one change of a group, unique camp-wide: the
// node's name, a token of this run, and a counter.
func (s *Service) changeID() string {
	return s.idPrefix + strconv.FormatUint(s.changes.Add(1), 36)
}

// groupCache keeps, per group, the state after the last event this node
// appended or read, and that event's sequence.
type groupCache struct {
	mu sync.Mutex
	m  map[int]cachedGroup
}

type cachedGroup struct {
	st  *groupState // never changed once kept
	seq uint64
}

func (c *groupCache) get(n int) (*groupState, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.m[n]
	return g.st, g.seq, ok
}

func (c *groupCache) put(n int, st *groupState, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int]cachedGroup{}
	}
	c.m[n] = cachedGroup{st: st, seq: seq}
}

func (c *groupCache) drop(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, n)
}

// groupNumbers lists the groups that have a log, in order.
func (s *Service) groupNumbers(ctx context.Context) ([]int, error) {
	info, err := s.groups.Info(ctx, jetstream.WithSubjectFilter(bus.LogPrefix+bus.GroupPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	var out []int
	for subject := range info.State.Subjects {
		if n, err := strconv.Atoi(strings.TrimPrefix(subject, bus.LogPrefix+bus.GroupPrefix)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// WatchGroup keeps the seat view current with group events appended by
// other nodes (this node's own are applied as they are appended): m is an
// event on group.<n>, meta its envelope.
func (s *Service) WatchGroup(m *nats.Msg, meta bus.EventMeta) {
	if meta.Type == campbus.EventMessage {
		return // changes no seat and no session: skip the decoding
	}
	n, err := strconv.Atoi(m.Subject[len(bus.GroupPrefix):])
	if err != nil {
		return
	}
	seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return
	}
	var st groupState
	if err := json.Unmarshal(meta.State, &st); err != nil {
		s.log.Warn("group event without state", "subject", m.Subject, "err", err)
		return
	}
	s.seats.applyState(n, seq, &st)
}
