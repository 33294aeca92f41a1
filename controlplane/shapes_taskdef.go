package controlplane

import (
	"encoding/json"

	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

// taskDefinitionView is the stored input plus what registration adds. The input is described
// back as given, so members the control plane does not interpret survive a round trip; only
// members absent from it get the values ECS fills in (see containerDefaults).
func taskDefinitionView(d state.TaskDefinition) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal(d.Raw, &out) // Raw was produced by json.Marshal of a map
	out["taskDefinitionArn"] = d.Arn
	out["family"] = d.Family
	out["revision"] = d.Revision
	out["status"] = d.Status
	out["registeredAt"] = epoch(d.RegisteredAt)
	if d.DeregisteredAt != nil {
		out["deregisteredAt"] = epoch(*d.DeregisteredAt)
	}
	if _, ok := out["networkMode"]; !ok {
		out["networkMode"] = "bridge"
	}
	out["compatibilities"] = []string{"EXTERNAL", "EC2"}
	out["requiresAttributes"] = []any{}
	setDefault(out, "volumes", []any{})
	setDefault(out, "placementConstraints", []any{})
	mode, _ := out["networkMode"].(string)
	if cs, ok := out["containerDefinitions"].([]any); ok {
		for _, c := range cs {
			if c, ok := c.(map[string]any); ok {
				containerDefaults(c, mode)
			}
		}
	}
	return out
}

// containerDefaults fills what ECS answers for members a container definition left out, as
// DescribeTaskDefinition of a minimal definition shows: `essential` true (the model: "If
// this parameter is omitted, a container is assumed to be essential"), `cpu` 0 (the model's
// default), empty `portMappings`, `environment`, `mountPoints`, `volumesFrom` and
// `systemControls`, and in each port mapping `protocol` tcp (the model: "The default is
// tcp") and a `hostPort`: the containerPort in host and awsvpc mode, where the model says
// the host port is the container port, and 0 (an ephemeral port) in bridge mode.
func containerDefaults(c map[string]any, networkMode string) {
	setDefault(c, "essential", true)
	setDefault(c, "cpu", 0)
	for _, list := range []string{"portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"} {
		setDefault(c, list, []any{})
	}
	pms, _ := c["portMappings"].([]any)
	for _, pm := range pms {
		pm, ok := pm.(map[string]any)
		if !ok {
			continue
		}
		setDefault(pm, "protocol", "tcp")
		if _, ranged := pm["containerPortRange"]; ranged {
			continue // the host port range is chosen at run time, never described
		}
		port, ok := pm["containerPort"]
		if !ok {
			continue
		}
		switch networkMode {
		case "host", "awsvpc":
			setDefault(pm, "hostPort", port)
		case "bridge":
			setDefault(pm, "hostPort", 0)
		}
	}
}

// setDefault sets m[key] to v unless the key is present (a null counts as absent).
func setDefault(m map[string]any, key string, v any) {
	if cur, ok := m[key]; !ok || cur == nil {
		m[key] = v
	}
}
