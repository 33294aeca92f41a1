package taskdef

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// The shapes of what roles, secrets and registry credentials name. Partitions other
// than aws (aws-cn, aws-us-gov) are accepted as ECS does.
var (
	// roleArnPattern is an IAM role: arn:aws:iam::<12 digits>:role/<path/name>.
	roleArnPattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	// ssmArnPattern is an SSM parameter ARN: arn:aws:ssm:<region>:<account>:parameter/<name>.
	ssmArnPattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:ssm:([a-z0-9-]+):[0-9]{12}:parameter/[a-zA-Z0-9_.\-/]+$`)
	// asmArnPattern is a Secrets Manager secret ARN, optionally followed by
	// :json-key:version-stage:version-id (each part may be empty).
	asmArnPattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:[a-zA-Z0-9/_+=.@-]+(:[^:]*:[^:]*:[^:]*)?$`)
	// ssmNamePattern is an SSM parameter name, plain or hierarchical.
	ssmNamePattern = regexp.MustCompile(`^/?[a-zA-Z0-9_.\-]+(/[a-zA-Z0-9_.\-]+)*$`)
	// asmNamePattern is a Secrets Manager secret name.
	asmNamePattern = regexp.MustCompile(`^[a-zA-Z0-9/_+=.@-]{1,512}$`)
)

// checkRoleArn checks one of taskRoleArn and executionRoleArn; "" means none.
func checkRoleArn(field, arn string) error {
	if arn == "" || roleArnPattern.MatchString(arn) {
		return nil
	}
	return invalidTask(field, arn, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
}

// SecretSource tells where a secret's valueFrom points: the provider ("ssm" or "asm")
// and the region, taken from the ARN or else defaultRegion for a parameter name.
func SecretSource(valueFrom, defaultRegion string) (provider, region string, err error) {
	if m := ssmArnPattern.FindStringSubmatch(valueFrom); m != nil && len(valueFrom) <= 2048 {
		return acs.SecretProviderSSM, m[2], nil
	}
	if m := asmArnPattern.FindStringSubmatch(valueFrom); m != nil {
		return acs.SecretProviderASM, m[2], nil
	}
	if !strings.HasPrefix(valueFrom, "arn:") && len(valueFrom) <= 2048 && ssmNamePattern.MatchString(valueFrom) {
		return acs.SecretProviderSSM, defaultRegion, nil
	}
	return "", "", fmt.Errorf("not an SSM parameter name or ARN, nor a Secrets Manager secret ARN")
}

// registryCredentialsRegion is the region of a repositoryCredentials parameter: from its
// Secrets Manager ARN, else defaultRegion for a secret name.
func registryCredentialsRegion(param, defaultRegion string) (string, error) {
	if m := asmArnPattern.FindStringSubmatch(param); m != nil {
		return m[2], nil
	}
	if !strings.HasPrefix(param, "arn:") && asmNamePattern.MatchString(param) {
		return defaultRegion, nil
	}
	return "", fmt.Errorf("not a Secrets Manager secret ARN or name")
}

// validateRoles checks the task-level role ARNs and that a definition whose containers
// need the execution role (secrets, private registry credentials) names one, with the
// messages ECS gives.
func validateRoles(d Definition) error {
	if err := checkRoleArn("taskRoleArn", d.TaskRoleArn); err != nil {
		return err
	}
	if err := checkRoleArn("executionRoleArn", d.ExecutionRoleArn); err != nil {
		return err
	}
	if d.ExecutionRoleArn != "" {
		return nil
	}
	for _, c := range d.ContainerDefinitions {
		if len(c.Secrets) > 0 {
			return awserr.Client("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.")
		}
		if c.RepositoryCredentials != nil {
			return awserr.Client("When you are specifying repositoryCredentials, you must also specify a value for 'executionRoleArn'.")
		}
	}
	return nil
}

// validateSecrets checks a container's secrets (names unique and not also environment
// variables, valueFrom an SSM parameter or a Secrets Manager secret) and its registry
// credentials.
func (v containerCheck) validateSecrets() error {
	env := map[string]bool{}
	for _, kv := range v.c.Environment {
		env[kv.Name] = true
	}
	seen := map[string]bool{}
	for i, s := range v.c.Secrets {
		switch {
		case s.Name == "":
			return v.fail(fmt.Sprintf("secrets[%d].name", i), s.Name, "must not be empty")
		case seen[s.Name]:
			return v.fail(fmt.Sprintf("secrets[%d].name", i), s.Name, "duplicate secret name")
		case env[s.Name]:
			return v.fail(fmt.Sprintf("secrets[%d].name", i), s.Name, "also an environment variable")
		}
		seen[s.Name] = true
		if _, _, err := SecretSource(s.ValueFrom, ""); err != nil {
			return v.fail(fmt.Sprintf("secrets[%d].valueFrom", i), s.ValueFrom, err.Error())
		}
	}
	if rc := v.c.RepositoryCredentials; rc != nil {
		if _, err := registryCredentialsRegion(rc.CredentialsParameter, ""); err != nil {
			return v.fail("repositoryCredentials.credentialsParameter", rc.CredentialsParameter, err.Error())
		}
	}
	return nil
}

// validateRoleOverrides checks RunTask/StartTask role overrides like the definition's.
func validateRoleOverrides(o Overrides) error {
	for _, r := range []struct{ field, arn string }{{"taskRoleArn", o.TaskRoleArn}, {"executionRoleArn", o.ExecutionRoleArn}} {
		if err := checkRoleArn("overrides."+r.field, r.arn); err != nil {
			return awserr.InvalidParameter("%s", awserr.As(err).Message)
		}
	}
	return nil
}

// secretsToACS translates a container's secrets: environment variables, with the
// provider and region of what valueFrom names. It is total like ToACS: a valueFrom that
// Validate would refuse goes as an SSM parameter of the default region.
func secretsToACS(secrets []Secret, defaultRegion string) []acs.Secret {
	if len(secrets) == 0 {
		return nil
	}
	out := make([]acs.Secret, 0, len(secrets))
	for _, s := range secrets {
		provider, region, err := SecretSource(s.ValueFrom, defaultRegion)
		if err != nil {
			provider, region = acs.SecretProviderSSM, defaultRegion
		}
		out = append(out, acs.Secret{Name: s.Name, ValueFrom: s.ValueFrom, Provider: provider, Type: acs.SecretTypeEnv, Region: region})
	}
	return out
}

// registryAuthToACS translates repositoryCredentials into "asm" registry authentication.
func registryAuthToACS(rc *RepositoryCredentials, defaultRegion string) *acs.RegistryAuthenticationData {
	if rc == nil {
		return nil
	}
	region, err := registryCredentialsRegion(rc.CredentialsParameter, defaultRegion)
	if err != nil {
		region = defaultRegion
	}
	return &acs.RegistryAuthenticationData{
		Type:        acs.AuthTypeASM,
		ASMAuthData: &acs.ASMAuthData{CredentialsParameter: rc.CredentialsParameter, Region: region},
	}
}
