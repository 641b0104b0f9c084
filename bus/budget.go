package bus

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go/jetstream"
)

// The event log's disk budget (Options.MaxStore, StreamOptions.MaxStore) is
// JetStream's own limit on file storage, and it is split among the streams
// and buckets, each bounded in bytes, so that every one of them fits inside
// it from the first start on.
const (
	// MinMaxStore is the smallest budget a node starts with: room for a
	// few hundred campers, a few hundred group events and the headroom
	// that lets them all check out.
	MinMaxStore = 1 << 20
	// DefaultStoreShare: with no budget given, a node takes this share
	// (1/DefaultStoreShare) of the free space in its data directory at
	// start. The rest is for what JetStream keeps beside the messages
	// (indexes, block files not yet compacted) and for everyone else.
	DefaultStoreShare = 2
	// GroupsHighWater is the share, in percent, of GROUPS's bytes (and of
	// the campers bucket's) past which the node refuses the writes that
	// add to the log (checkin, message, direct, peersession); the rest is
	// headroom for the writes that end things (checkout, complete).
	GroupsHighWater = 90
	// StoreLowWater is the share, in percent, below which a full log counts
	// as having room again: the gap keeps a log at the mark from flapping.
	StoreLowWater = 80
)

// Budget is the disk budget of the event log and its split among the file
// streams and buckets, in bytes.
type Budget struct {
	Total   int64
	Groups  int64
	Directs int64
	Campers int64
}

// SplitBudget splits total among the streams: an eighth for the campers
// bucket, up to a quarter for the directs (less if directMaxBytes, their own
// cap, is smaller: the directs drop their oldest when over it), the rest for
// the group events. total 0 or less means no budget: nothing is bounded but
// the directs by directMaxBytes.
func SplitBudget(total, directMaxBytes int64) Budget {
	if total <= 0 {
		return Budget{Directs: directMaxBytes}
	}
	b := Budget{Total: total, Campers: total / 8, Directs: total / 4}
	if directMaxBytes > 0 && directMaxBytes < b.Directs {
		b.Directs = directMaxBytes
	}
	b.Groups = total - b.Campers - b.Directs
	return b
}

// FreeBytes returns the bytes free for an unprivileged user on the
// filesystem that holds dir.
func FreeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// IsStorageFull reports whether err is JetStream refusing a write for lack of
// room: a stream or bucket at its byte limit, the server's store budget used
// up, or the disk itself full. Nothing was stored.
func IsStorageFull(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jsErrCodeInsufficientResources, jsErrCodeStorageResourcesExceeded, jsErrCodeAccountResourcesExceeded:
			return true
		case jsErrCodeStreamStoreFailed:
			return storageFullText(apiErr.Description)
		}
		return false
	}
	return err != nil && storageFullText(err.Error())
}

// JetStream's error codes for a full store (nats-server's
// jetstream_errors_generated.go); nats.go names only some of them.
const (
	jsErrCodeAccountResourcesExceeded jetstream.ErrorCode = 10002
	jsErrCodeInsufficientResources    jetstream.ErrorCode = 10023
	jsErrCodeStorageResourcesExceeded jetstream.ErrorCode = 10047
	jsErrCodeStreamStoreFailed        jetstream.ErrorCode = 10077
)

// isBeyondBudget reports whether err is JetStream refusing a stream whose
// byte limit does not fit in what is left of its store budget.
func isBeyondBudget(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeStorageResourcesExceeded
}

// storageFullText reports whether a store failure's text says it had no room.
func storageFullText(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "maximum bytes exceeded") || strings.Contains(s, "no space left") ||
		strings.Contains(s, "insufficient storage") || strings.Contains(s, "insufficient resources")
}
