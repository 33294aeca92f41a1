package taskdef_test

import (
	"encoding/json"
	"testing"

	"github.com/ecs-agent/ecs-agent/controlplane/placement"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// FuzzTaskDefinition feeds RegisterTaskDefinition bodies through what registration and
// delivery do with them. Validate and the placement checks must never panic; any
// definition, accepted or not, must translate without a panic into dockerConfig strings
// that are JSON objects, and its resource requirements must be computable. The seed
// corpus in testdata/fuzz/FuzzTaskDefinition holds the peer task definitions and edge
// cases.
//
// It lives in package taskdef_test so that it can call the placement checks that
// RegisterTaskDefinition applies after Validate (placement imports taskdef).
func FuzzTaskDefinition(f *testing.F) {
	f.Add([]byte(`{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":4}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d taskdef.Definition
		if err := json.Unmarshal(body, &d); err != nil {
			return
		}
		// Validate's verdict does not matter below: the translation must be total, since a
		// snapshot of an older version may hold definitions today's checks refuse.
		_ = taskdef.Validate(d)
		_ = placement.CheckDefinition(d.PlacementConstraints)
		_ = taskdef.RequirementsOf(d, taskdef.Overrides{})
		task := taskdef.ToACS(d, taskdef.Placement{TaskArn: "arn:task", ClusterArn: "arn:cluster", Revision: 1, DesiredStatus: "RUNNING"})
		if len(task.Containers) != len(d.ContainerDefinitions) {
			t.Fatalf("%d containers translated, %d defined", len(task.Containers), len(d.ContainerDefinitions))
		}
		for _, c := range task.Containers {
			for name, s := range map[string]*string{"config": c.DockerConfig.Config, "hostConfig": c.DockerConfig.HostConfig} {
				if s == nil {
					t.Fatalf("container %s: no dockerConfig.%s", c.Name, name)
				}
				var v map[string]any
				if err := json.Unmarshal([]byte(*s), &v); err != nil {
					t.Fatalf("container %s: dockerConfig.%s %q is not a JSON object: %v", c.Name, name, *s, err)
				}
			}
		}
		if _, err := json.Marshal(task); err != nil {
			t.Fatalf("the translated task does not encode: %v", err)
		}
	})
}
