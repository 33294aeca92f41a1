// Command registerinstance registers a container instance with an ECS endpoint through the
// AWS SDK for Go v2, the way the ECS agent does at start-up (reference/PROTOCOL.md §1.2):
// totalResources CPU, MEMORY, PORTS and PORTS_UDP in that order, a list of attributes (some
// name-only, some with a value) and an empty instance identity document and signature
// (external mode). The agent also sends a clientToken through its own copy of the ECS model;
// the public SDK's RegisterContainerInstanceInput has no such member, so none is sent here.
//
// It prints the containerInstanceArn of the answer on stdout. Like the agent, it checks that
// every attribute it sent comes back in the answer with the same value; a missing or changed
// attribute, a missing containerInstance or ARN, or an error from the call makes it exit
// non-zero with the reason on stderr.
//
// It is used by controlplane/conformance/conformance.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// Development credentials of the local control plane; the environment overrides them.
const (
	devAccessKeyID     = "AKIDECSLOCALDEV"
	devSecretAccessKey = "ecs-local-development-secret"
)

// attrFlag collects repeated -attribute NAME[=VALUE] flags.
type attrFlag []types.Attribute

func (a *attrFlag) String() string {
	parts := make([]string, 0, len(*a))
	for _, at := range *a {
		if at.Value == nil {
			parts = append(parts, aws.ToString(at.Name))
		} else {
			parts = append(parts, aws.ToString(at.Name)+"="+aws.ToString(at.Value))
		}
	}
	return strings.Join(parts, ",")
}

func (a *attrFlag) Set(s string) error {
	name, value, hasValue := strings.Cut(s, "=")
	if name == "" {
		return errors.New("attribute name is empty")
	}
	at := types.Attribute{Name: aws.String(name)}
	if hasValue {
		at.Value = aws.String(value)
	}
	*a = append(*a, at)
	return nil
}

// defaultAttributes is a truthful subset of what the agent sends in external mode: custom
// attribute first, then name-only capabilities, then the os and architecture attributes.
func defaultAttributes() []types.Attribute {
	return []types.Attribute{
		{Name: aws.String("conformance.purpose"), Value: aws.String("registerinstance")},
		{Name: aws.String("ecs.capability.container-ordering")},
		{Name: aws.String("ecs.capability.full-sync")},
		{Name: aws.String("ecs.capability.container-health-check")},
		{Name: aws.String("com.amazonaws.ecs.capability.docker-remote-api.1.17")},
		{Name: aws.String("com.amazonaws.ecs.capability.docker-remote-api.1.32")},
		{Name: aws.String("com.amazonaws.ecs.capability.logging-driver.json-file")},
		{Name: aws.String("com.amazonaws.ecs.capability.logging-driver.none")},
		{Name: aws.String("ecs.capability.external")},
		{Name: aws.String("ecs.os-type"), Value: aws.String("linux")},
		{Name: aws.String("ecs.os-family"), Value: aws.String("LINUX")},
		{Name: aws.String("ecs.os-type-detailed"), Value: aws.String("LINUX")},
		{Name: aws.String("ecs.cpu-architecture"), Value: aws.String("x86_64")},
	}
}

// parsePorts turns "22,2375,51678" into the decimal strings the agent sends.
func parsePorts(list string) ([]string, error) {
	ports := []string{}
	if strings.TrimSpace(list) == "" {
		return ports, nil
	}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("invalid port %q", p)
		}
		ports = append(ports, strconv.Itoa(n))
	}
	return ports, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// checkEcho returns the sent attributes that are missing from got or have another value,
// compared the way the agent compares them (nil value and "" are equal).
func checkEcho(sent, got []types.Attribute) []string {
	gotByName := make(map[string][]string, len(got))
	for _, at := range got {
		n := aws.ToString(at.Name)
		gotByName[n] = append(gotByName[n], aws.ToString(at.Value))
	}
	var problems []string
	for _, at := range sent {
		n, v := aws.ToString(at.Name), aws.ToString(at.Value)
		values, ok := gotByName[n]
		if !ok {
			problems = append(problems, fmt.Sprintf("attribute %q not echoed back", n))
			continue
		}
		found := false
		for _, gv := range values {
			if gv == v {
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("attribute %q echoed with value(s) %q, sent %q", n, values, v))
		}
	}
	sort.Strings(problems)
	return problems
}

func run() error {
	var attrs attrFlag
	endpoint := flag.String("endpoint", "http://127.0.0.1:51700", "ECS endpoint URL")
	region := flag.String("region", envOr("AWS_DEFAULT_REGION", envOr("AWS_REGION", "us-west-2")), "signing region")
	cluster := flag.String("cluster", "default", "cluster name or ARN")
	cpu := flag.Int("cpu", 1024, "CPU units to register (integerValue of CPU)")
	memory := flag.Int("memory", 256, "memory in MiB to register (integerValue of MEMORY)")
	reserved := flag.String("reserved-ports", "22,2375,2376,51678,51679", "comma-separated reserved TCP ports (PORTS)")
	reservedUDP := flag.String("reserved-udp-ports", "", "comma-separated reserved UDP ports (PORTS_UDP)")
	instanceArn := flag.String("container-instance-arn", "", "re-register this container instance ARN")
	noDefaults := flag.Bool("no-default-attributes", false, "send only the -attribute flags")
	timeout := flag.Duration("timeout", 20*time.Second, "overall time limit")
	flag.Var(&attrs, "attribute", "extra attribute NAME or NAME=VALUE (repeatable)")
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}

	ports, err := parsePorts(*reserved)
	if err != nil {
		return fmt.Errorf("-reserved-ports: %w", err)
	}
	portsUDP, err := parsePorts(*reservedUDP)
	if err != nil {
		return fmt.Errorf("-reserved-udp-ports: %w", err)
	}
	sent := []types.Attribute{}
	if !*noDefaults {
		sent = append(sent, defaultAttributes()...)
	}
	sent = append(sent, attrs...)

	client := ecs.New(ecs.Options{
		Region:       *region,
		BaseEndpoint: aws.String(*endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(
			envOr("AWS_ACCESS_KEY_ID", devAccessKeyID),
			envOr("AWS_SECRET_ACCESS_KEY", devSecretAccessKey),
			os.Getenv("AWS_SESSION_TOKEN")),
		RetryMaxAttempts: 1,
	})

	in := &ecs.RegisterContainerInstanceInput{
		Cluster:                           aws.String(*cluster),
		InstanceIdentityDocument:          aws.String(""),
		InstanceIdentityDocumentSignature: aws.String(""),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: int32(*cpu)},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: int32(*memory)},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: ports},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: portsUDP},
		},
		Attributes: sent,
	}
	if *instanceArn != "" {
		in.ContainerInstanceArn = aws.String(*instanceArn)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	out, err := client.RegisterContainerInstance(ctx, in)
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return fmt.Errorf("RegisterContainerInstance: %s: %s", apiErr.ErrorCode(), apiErr.ErrorMessage())
		}
		return fmt.Errorf("RegisterContainerInstance: %w", err)
	}
	if out.ContainerInstance == nil {
		return errors.New("answer has no containerInstance")
	}
	arn := aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	if arn == "" {
		return errors.New("answer has no containerInstance.containerInstanceArn")
	}
	if problems := checkEcho(sent, out.ContainerInstance.Attributes); len(problems) > 0 {
		return fmt.Errorf("%d of %d attributes not echoed: %s", len(problems), len(sent), strings.Join(problems, "; "))
	}
	hasAZ := false
	for _, at := range out.ContainerInstance.Attributes {
		if aws.ToString(at.Name) == "ecs.availability-zone" && aws.ToString(at.Value) != "" {
			hasAZ = true
		}
	}
	if !hasAZ {
		fmt.Fprintln(os.Stderr, "registerinstance: note: no ecs.availability-zone attribute in the answer")
	}
	fmt.Println(arn)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "registerinstance:", err)
		os.Exit(1)
	}
}
