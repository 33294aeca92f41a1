package creds

import (
	"sort"
	"sync"
	"time"
)

// How credentials reached the agent.
const (
	ViaPayload = "payload"
	ViaRefresh = "refresh"
)

// Issue is one delivery of a role's credentials: never the keys.
type Issue struct {
	Via        string     `json:"via"`
	MessageID  string     `json:"messageId"`
	IssuedAt   time.Time  `json:"issuedAt"`
	Expiration time.Time  `json:"expiration"`
	Acked      bool       `json:"acked"`
	AckedAt    *time.Time `json:"ackedAt,omitempty"`
}

// Record is a role's credentials of one task: its stable credentialsId and every issue,
// oldest first.
type Record struct {
	TaskArn       string  `json:"-"`
	RoleType      string  `json:"roleType"`
	RoleArn       string  `json:"roleArn"`
	CredentialsID string  `json:"credentialsId"`
	Issues        []Issue `json:"issues"`
}

// maxIssues bounds a record: with the 1-minute minimum lifetime a task refreshes about
// every 40 s, so this is most of a day.
const maxIssues = 2000

// Book keeps a Record per credentialsId, in memory only. It is safe for concurrent use
// and calls nothing while holding its lock.
type Book struct {
	mu      sync.Mutex
	records map[string]*Record // by credentials ID
}

// NewBook returns an empty book.
func NewBook() *Book { return &Book{records: map[string]*Record{}} }

// Issued records an issue of the credentials of id.
func (b *Book) Issued(taskArn, roleType, roleArn, id string, is Issue) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.records[id]
	if r == nil {
		r = &Record{TaskArn: taskArn, RoleType: roleType, RoleArn: roleArn, CredentialsID: id}
		b.records[id] = r
	}
	r.RoleArn = roleArn
	r.Issues = append(r.Issues, is)
	if len(r.Issues) > maxIssues {
		r.Issues = r.Issues[len(r.Issues)-maxIssues:]
	}
}

// Acked records the agent's ack of the issue of id sent in message messageID and reports
// whether there was such an issue. A repeated ack keeps the first time.
func (b *Book) Acked(messageID, id string, at time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.records[id]
	if r == nil {
		return false
	}
	for i := len(r.Issues) - 1; i >= 0; i-- {
		is := &r.Issues[i]
		if is.MessageID != messageID {
			continue
		}
		if !is.Acked {
			is.Acked = true
			t := at.UTC()
			is.AckedAt = &t
		}
		return true
	}
	return false
}

// Latest returns the newest issue of id.
func (b *Book) Latest(id string) (Issue, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.records[id]
	if r == nil || len(r.Issues) == 0 {
		return Issue{}, false
	}
	return r.Issues[len(r.Issues)-1], true
}

// DueForRefresh reports whether the credentials of id should be replaced at now: less
// than a third of the newest issue's lifetime is left, or nothing was issued since the
// control plane started (the agent's copy is of unknown age).
func (b *Book) DueForRefresh(id string, now time.Time) bool {
	is, ok := b.Latest(id)
	if !ok {
		return true
	}
	lifetime := is.Expiration.Sub(is.IssuedAt)
	return is.Expiration.Sub(now) < lifetime/3
}

// ForTask returns copies of the task's records, task role first.
func (b *Book) ForTask(taskArn string) []Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Record
	for _, r := range b.records {
		if r.TaskArn == taskArn {
			c := *r
			c.Issues = append([]Issue(nil), r.Issues...)
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RoleType < out[j].RoleType }) // TaskApplication, TaskExecution
	return out
}
