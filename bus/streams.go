package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions set the retention of the event log.
type StreamOptions struct {
	MaxAge   time.Duration // 0 keeps events forever
	MaxBytes int64         // 0 or less: no limit
	Replicas int           // 0 means 1
}

// EnsureStreams creates or updates the EVENTS stream and the campers bucket.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, so StreamOptions) (jetstream.KeyValue, error) {
	if so.Replicas <= 0 {
		so.Replicas = 1
	}
	if so.MaxBytes <= 0 {
		so.MaxBytes = -1
	}
	cfg := jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "campbus event log: group events (republished on group.<n>) and directs",
		Subjects:    []string{LogPrefix + GroupPrefix + "*", LogDirectPrefix + "*.*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      so.MaxAge,
		MaxBytes:    so.MaxBytes,
		Replicas:    so.Replicas,
		AllowDirect: true,
		Duplicates:  2 * time.Minute,
		RePublish:   &jetstream.RePublish{Source: LogPrefix + GroupPrefix + "*", Destination: GroupPrefix + "{{wildcard(1)}}"},
	}
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", EventsStream, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      CampersBucket,
		Description: "campbus: checked-in campers, campId -> connection",
		Storage:     jetstream.FileStorage,
		Replicas:    so.Replicas,
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: bucket %s: %w", CampersBucket, err)
	}
	return kv, nil
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
