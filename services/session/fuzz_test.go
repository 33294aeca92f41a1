package session

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/acs"
)

// recorder is a sender that keeps what was written.
type recorder struct {
	mu    sync.Mutex
	types []string
}

func (r *recorder) send(typ string, msg any) error {
	if _, err := acs.Encode(typ, msg); err != nil {
		return err
	}
	r.mu.Lock()
	r.types = append(r.types, typ)
	r.mu.Unlock()
	return nil
}

// FuzzACSFrame feeds arbitrary frames to the session's frame handler (the reader
// goroutine's whole path: decoding, validation, quick answers, hand-over to the
// worker). Nothing may panic; every answer written must encode; only the recognised
// types are answered.
func FuzzACSFrame(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/frames/*.json")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"HeartbeatMessage","message":{"healthy":true,"messageId":"m"}}`))
	f.Add([]byte(`{"type":"PayloadMessage","message":{"messageId":"m","clusterArn":"c","containerInstanceArn":"i","tasks":[{"arn":"a","desiredStatus":"RUNNING","containers":[{"name":"x","image":"busybox","portMappings":[{"containerPort":80,"protocol":"sctp"}]}]}]}}`))
	f.Add([]byte(`{"type":"TaskManifestMessage","message":{"messageId":"m","clusterArn":"c","containerInstanceArn":"i","timeline":3,"tasks":[{"taskArn":"a","desiredStatus":"RUNNING"}]}}`))
	f.Add([]byte(`{"type":"StageUpdateMessage","message":{"messageId":"m","clusterArn":"c","containerInstanceArn":"i"}}`))
	f.Add([]byte(`{"type":"TaskStopVerificationAck","message":{"messageId":"m","stopTasks":[{"taskArn":"a"}]}}`))
	f.Add([]byte(`{"type":"PayloadMessage","message":null}`))
	f.Add([]byte(`[1,2,3]`))
	s := &Service{log: zerolog.Nop(), latestSeq: -1}
	f.Fuzz(func(t *testing.T, frame []byte) {
		rec := &recorder{}
		work := make(chan inbound, 4)
		s.handleFrame(context.Background(), rec, frame, work)
		close(work)
		for in := range work {
			n := 0
			if in.payload != nil {
				n++
				if in.payload.MessageID == "" || in.payload.ClusterArn == "" || in.payload.ContainerInstanceArn == "" {
					t.Fatalf("a payload without its identifiers was handed to the worker: %+v", in.payload)
				}
			}
			if in.manifest != nil {
				n++
			}
			if in.verified != nil {
				n++
			}
			if n != 1 {
				t.Fatalf("work item with %d parts", n)
			}
		}
		for _, typ := range rec.types {
			switch typ {
			case acs.TypeHeartbeatAckRequest, acs.TypeNackRequest:
			default:
				t.Fatalf("the reader answered with %s", typ)
			}
		}
	})
}
