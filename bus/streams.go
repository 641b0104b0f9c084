package bus

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions set the retention of the event log.
type StreamOptions struct {
	// GroupEvents is how many events each group keeps (default
	// DefaultGroupEvents). A group's last event carries its state, so group
	// events are never dropped by age or size: only the oldest of a group
	// beyond this count go. When the stream reaches its share of MaxStore
	// it refuses new events instead (discard new), so every group keeps
	// its last one.
	GroupEvents int64
	// MaxStore is the event log's disk budget in bytes, split among the
	// streams and buckets by SplitBudget (0: no budget).
	MaxStore int64
	// DirectMaxAge and DirectMaxBytes bound the directs kept (0: no limit).
	DirectMaxAge   time.Duration
	DirectMaxBytes int64
	// Replicas of every stream and bucket (0 means 1).
	Replicas int
}

// DefaultGroupEvents keeps, per group, at least as many events as the
// history command can return.
const DefaultGroupEvents = 1000

// DuplicateWindow is how long GROUPS remembers a change's id.
const DuplicateWindow = 30 * time.Second

// Streams are the handles of the event log and the buckets.
type Streams struct {
	Groups  jetstream.Stream
	Directs jetstream.Stream
	Campers jetstream.KeyValue
	// Budget is how MaxStore was split among them.
	Budget Budget
	// Epoch names the group log (PROTOCOL.md §11): a word made when
	// GROUPS is created and kept in its metadata under EpochKey.
	// EpochAdded says this start gave one to a stream made without.
	Epoch      string
	EpochAdded bool
}

// EpochKey is the key of GROUPS' metadata that holds the log's epoch.
const EpochKey = "campbus_epoch"

// EnsureStreams creates or updates the GROUPS and DIRECTS streams and the
// campers bucket. In a cluster that is still electing its
// leaders, or waiting for enough nodes for the replicas, each step is tried
// again until ctx ends.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, so StreamOptions) (*Streams, error) {
	if so.Replicas <= 0 {
		so.Replicas = 1
	}
	if so.GroupEvents <= 0 {
		so.GroupEvents = DefaultGroupEvents
	}
	budget := SplitBudget(so.MaxStore, so.DirectMaxBytes)
	unbounded := func(n int64) int64 {
		if n <= 0 {
			return -1
		}
		return n
	}
	var epoch groupsEpoch
	groups, err := retry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		var err error
		var s jetstream.Stream
		s, epoch, err = ensureGroups(ctx, js, jetstream.StreamConfig{
			Name:              GroupsStream,
			Description:       "campbus group events, each carrying its group's state, republished on group.<n>; and staff actions, under log.staff.<action>.<target>",
			Subjects:          []string{LogPrefix + GroupPrefix + "*", LogStaffPrefix + "*.*"},
			Storage:           jetstream.FileStorage,
			Retention:         jetstream.LimitsPolicy,
			Discard:           jetstream.DiscardNew,
			MaxBytes:          unbounded(budget.Groups),
			MaxMsgsPerSubject: so.GroupEvents,
			// Every change carries an id (Nats-Msg-Id) kept this long: a
			// change retried after an election is stored once. It covers a
			// request's whole life (handlers.DefaultTimeout).
			Duplicates:  DuplicateWindow,
			Replicas:    so.Replicas,
			AllowDirect: true,
			RePublish:   &jetstream.RePublish{Source: LogPrefix + GroupPrefix + "*", Destination: GroupPrefix + "{{wildcard(1)}}"},
		})
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", GroupsStream, err)
	}
	directs, err := retry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return createOrKeepStream(ctx, js, jetstream.StreamConfig{
			Name:        DirectsStream,
			Description: "campbus direct messages, under log.direct.<to>.<from>",
			Subjects:    []string{LogDirectPrefix + "*.*"},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      so.DirectMaxAge,
			MaxBytes:    unbounded(budget.Directs),
			Replicas:    so.Replicas,
			AllowDirect: true,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", DirectsStream, err)
	}
	campers, err := retry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return createOrKeepBucket(ctx, js, jetstream.KeyValueConfig{
			Bucket:      CampersBucket,
			Description: "campbus: checked-in campers, campId -> connection",
			Storage:     jetstream.FileStorage,
			Replicas:    so.Replicas,
			History:     1,
			MaxBytes:    unbounded(budget.Campers),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bus: bucket %s: %w", CampersBucket, err)
	}
	// The shares are those the streams have: another node may have made
	// them for its own budget.
	budget.Groups = maxBytes(groups.CachedInfo())
	budget.Directs = maxBytes(directs.CachedInfo())
	if st, err := campers.Status(ctx); err == nil {
		if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
			budget.Campers = maxBytes(bs.StreamInfo())
		}
	}
	return &Streams{Groups: groups, Directs: directs, Campers: campers, Budget: budget,
		Epoch: epoch.value, EpochAdded: epoch.added}, nil
}

// groupsEpoch is the epoch ensureGroups found or made.
type groupsEpoch struct {
	value string
	added bool // given to a stream that had none
}

// ensureGroups creates GROUPS with a new epoch, or updates it keeping the
// one it has. A stream made before epochs gets one derived from its
// creation time, which every node of a cluster sees alike, so that nodes
// upgraded at once all add the same. The stream is only created, never
// updated, by a node that did not find it: when two nodes of a new
// cluster create it at once, the second's create is refused (its epoch
// differs), and the next try finds the first's stream and keeps its epoch.
// The epoch returned is the one the stream holds.
func ensureGroups(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, groupsEpoch, error) {
	var ep groupsEpoch
	existing, err := js.Stream(ctx, cfg.Name)
	var s jetstream.Stream
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if ep.value, err = newEpoch(); err != nil {
			return nil, ep, err
		}
		cfg.Metadata = map[string]string{EpochKey: ep.value}
		if s, err = js.CreateStream(ctx, cfg); err != nil {
			return nil, ep, err
		}
	case err != nil:
		return nil, ep, err
	default:
		info := existing.CachedInfo()
		cfg.Metadata = map[string]string{}
		for k, v := range info.Config.Metadata {
			if !strings.HasPrefix(k, "_nats.") { // the server's own
				cfg.Metadata[k] = v
			}
		}
		if ep.value = info.Config.Metadata[EpochKey]; ep.value == "" {
			ep.value, ep.added = derivedEpoch(cfg.Name, info.Created), true
			cfg.Metadata[EpochKey] = ep.value
		}
		s, err = js.UpdateStream(ctx, cfg)
		if isBeyondBudget(err) {
			// Sized by another node for a larger budget: kept as it is
			// (see createOrKeepStream), given an epoch if it had none.
			s, err = existing, nil
			if ep.added || !slices.Equal(info.Config.Subjects, cfg.Subjects) {
				kept := info.Config
				kept.Metadata, kept.Subjects = cfg.Metadata, cfg.Subjects
				s, err = js.UpdateStream(ctx, kept)
			}
		}
		if err != nil {
			return nil, ep, err
		}
	}
	if held := s.CachedInfo().Config.Metadata[EpochKey]; held != "" {
		ep.value = held
	}
	return s, ep, nil
}

// newEpoch returns a fresh epoch: 12 hex digits.
func newEpoch() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("epoch: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// derivedEpoch is the epoch of a stream made before epochs: 12 hex digits
// of a hash of its name and creation time.
func derivedEpoch(name string, created time.Time) string {
	sum := sha256.Sum256([]byte(name + "@" + strconv.FormatInt(created.UnixNano(), 10)))
	return hex.EncodeToString(sum[:6])
}

// createOrKeepStream creates or updates a stream; if its byte limit does
// not fit in what is left of this server's budget, it keeps the stream as it
// is, when there is one: in a cluster, another node may have sized it for a
// budget a little larger than this node's.
func createOrKeepStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if isBeyondBudget(err) {
		if existing, gerr := js.Stream(ctx, cfg.Name); gerr == nil {
			return existing, nil
		}
	}
	return s, err
}

// createOrKeepBucket is createOrKeepStream for a key-value bucket.
func createOrKeepBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if isBeyondBudget(err) {
		if existing, gerr := js.KeyValue(ctx, cfg.Bucket); gerr == nil {
			return existing, nil
		}
	}
	return kv, err
}

// maxBytes is a stream's byte limit, 0 for none.
func maxBytes(info *jetstream.StreamInfo) int64 {
	if info == nil || info.Config.MaxBytes <= 0 {
		return 0
	}
	return info.Config.MaxBytes
}

// retry calls f with a short deadline until it succeeds or ctx ends: the
// first requests of a forming cluster can hang or fail while no leader
// exists yet.
func retry[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := f(actx)
		cancel()
		if err == nil {
			return v, nil
		}
		if isBeyondBudget(err) {
			return v, err // trying again will not make room
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// NoAnswer reports whether err says that nobody answered, or not in
// time: no responders, no stream response, a timeout or a deadline. That
// is what a stream without a leader looks like while the survivors of a
// lost node elect one (PROTOCOL.md §11: 503 unavailable).
func NoAnswer(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrNoHeartbeat)
}

// IsWrongLastSequence reports whether err is JetStream refusing a publish
// because the subject moved on since the expected sequence: someone else
// changed the same group first.
func IsWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
