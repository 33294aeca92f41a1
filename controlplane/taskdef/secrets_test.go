package taskdef

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

const (
	execRole   = `,"executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole"`
	ssmArn     = "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db-password"
	asmArn     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-AbCdEf"
	asmArnJSON = asmArn + ":password:AWSCURRENT:"
)

func TestValidateRoles(t *testing.T) {
	refuse := []struct {
		name            string
		task, container string
		want            string // what the message must name
	}{
		{"task role not an ARN", `,"taskRoleArn":"ecsTaskRole"`, "", `taskRoleArn "ecsTaskRole"`},
		{"task role of another service", `,"taskRoleArn":"arn:aws:iam::123456789012:user/bob"`, "", `taskRoleArn "arn:aws:iam::123456789012:user/bob"`},
		{"task role short account", `,"taskRoleArn":"arn:aws:iam::12345:role/r"`, "", `taskRoleArn "arn:aws:iam::12345:role/r"`},
		{"execution role with a region", `,"executionRoleArn":"arn:aws:iam:us-west-2:123456789012:role/r"`, "", `executionRoleArn "arn:aws:iam:us-west-2:123456789012:role/r"`},
		{"execution role without a name", `,"executionRoleArn":"arn:aws:iam::123456789012:role/"`, "", `executionRoleArn`},
		{"secrets without execution role", "", `,"secrets":[{"name":"A","valueFrom":"p"}]`, "executionRoleArn"},
		{"registry credentials without execution role", "", `,"repositoryCredentials":{"credentialsParameter":"` + asmArn + `"}`, "executionRoleArn"},
		{"secret without a name", execRole, `,"secrets":[{"name":"","valueFrom":"p"}]`, `secrets[0].name ""`},
		{"duplicate secret", execRole, `,"secrets":[{"name":"A","valueFrom":"p"},{"name":"A","valueFrom":"q"}]`, `secrets[1].name "A"`},
		{"secret clashing with environment", execRole, `,"environment":[{"name":"A","value":"1"}],"secrets":[{"name":"A","valueFrom":"p"}]`, `secrets[0].name "A"`},
		{"secret from another service", execRole, `,"secrets":[{"name":"A","valueFrom":"arn:aws:s3:::bucket/key"}]`, `secrets[0].valueFrom "arn:aws:s3:::bucket/key"`},
		{"secret from nothing", execRole, `,"secrets":[{"name":"A","valueFrom":""}]`, `secrets[0].valueFrom ""`},
		{"secret from a bad parameter name", execRole, `,"secrets":[{"name":"A","valueFrom":"a b"}]`, `secrets[0].valueFrom "a b"`},
		{"secret ARN with a bad account", execRole, `,"secrets":[{"name":"A","valueFrom":"arn:aws:ssm:us-west-2:1234:parameter/p"}]`, `valueFrom "arn:aws:ssm:us-west-2:1234:parameter/p"`},
		{"registry credentials from SSM", execRole, `,"repositoryCredentials":{"credentialsParameter":"` + ssmArn + `"}`, `repositoryCredentials.credentialsParameter "` + ssmArn + `"`},
		{"registry credentials empty", execRole, `,"repositoryCredentials":{}`, `repositoryCredentials.credentialsParameter ""`},
	}
	for _, tc := range refuse {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(definition(t, tc.task, tc.container))
			if !awserr.IsCode(err, awserr.CodeClient) {
				t.Fatalf("Validate = %v, want a ClientException", err)
			}
			if msg := awserr.As(err).Message; !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not name %s", msg, tc.want)
			}
		})
	}
	accept := []struct {
		name            string
		task, container string
	}{
		{"task role", `,"taskRoleArn":"arn:aws:iam::123456789012:role/app"`, ""},
		{"role with a path", `,"taskRoleArn":"arn:aws:iam::123456789012:role/service-role/app.v2@x"`, ""},
		{"both roles", `,"taskRoleArn":"arn:aws:iam::123456789012:role/app"` + execRole, ""},
		{"other partition", `,"taskRoleArn":"arn:aws-cn:iam::123456789012:role/app"`, ""},
		{"SSM parameter name", execRole, `,"secrets":[{"name":"A","valueFrom":"db-password"}]`},
		{"SSM hierarchical name", execRole, `,"secrets":[{"name":"A","valueFrom":"/app/prod/db.password"}]`},
		{"SSM ARN", execRole, `,"secrets":[{"name":"A","valueFrom":"` + ssmArn + `"}]`},
		{"Secrets Manager ARN", execRole, `,"secrets":[{"name":"A","valueFrom":"` + asmArn + `"}]`},
		{"Secrets Manager ARN with a JSON key", execRole, `,"secrets":[{"name":"A","valueFrom":"` + asmArnJSON + `"}]`},
		{"registry credentials ARN", execRole, `,"repositoryCredentials":{"credentialsParameter":"` + asmArn + `"}`},
		{"registry credentials name", execRole, `,"repositoryCredentials":{"credentialsParameter":"dockerhub/login"}`},
		{"secrets and environment", execRole, `,"environment":[{"name":"A","value":"1"}],"secrets":[{"name":"B","valueFrom":"p"}]`},
	}
	for _, tc := range accept {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(definition(t, tc.task, tc.container)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateRoleOverrides(t *testing.T) {
	d := definition(t, `,"taskRoleArn":"arn:aws:iam::123456789012:role/app"`, "")
	tests := []struct {
		name string
		o    Overrides
		ok   bool
	}{
		{"none", Overrides{}, true},
		{"task role", Overrides{TaskRoleArn: "arn:aws:iam::123456789012:role/other"}, true},
		{"execution role", Overrides{ExecutionRoleArn: "arn:aws:iam::123456789012:role/exec"}, true},
		{"bad task role", Overrides{TaskRoleArn: "other"}, false},
		{"bad execution role", Overrides{ExecutionRoleArn: "arn:aws:iam::123456789012:group/g"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateOverrides(d, tc.o)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok && !awserr.IsCode(err, awserr.CodeInvalidParameter) {
				t.Fatalf("ValidateOverrides = %v, want an InvalidParameterException", err)
			}
		})
	}
	task, exec := d.Roles(Overrides{TaskRoleArn: "arn:aws:iam::123456789012:role/other"})
	if task != "arn:aws:iam::123456789012:role/other" || exec != "" {
		t.Fatalf("Roles with an override = %q, %q", task, exec)
	}
	if task, _ := d.Roles(Overrides{}); task != d.TaskRoleArn {
		t.Fatalf("Roles without an override = %q", task)
	}
}

func TestSecretsToACS(t *testing.T) {
	d := definition(t, execRole, `,"secrets":[{"name":"PLAIN","valueFrom":"db-password"},{"name":"SSM","valueFrom":"`+ssmArn+`"},`+
		`{"name":"ASM","valueFrom":"`+asmArnJSON+`"}],"repositoryCredentials":{"credentialsParameter":"dockerhub/login"}`)
	task := ToACS(d, Placement{TaskArn: "arn:task", DesiredStatus: "RUNNING", Region: "us-west-2"})
	a, b := task.Containers[0], task.Containers[1]
	want := []acs.Secret{
		{Name: "PLAIN", ValueFrom: "db-password", Provider: "ssm", Type: "ENVIRONMENT_VARIABLE", Region: "us-west-2"},
		{Name: "SSM", ValueFrom: ssmArn, Provider: "ssm", Type: "ENVIRONMENT_VARIABLE", Region: "eu-west-1"},
		{Name: "ASM", ValueFrom: asmArnJSON, Provider: "asm", Type: "ENVIRONMENT_VARIABLE", Region: "us-east-1"},
	}
	if !reflect.DeepEqual(a.Secrets, want) {
		t.Fatalf("secrets = %+v\nwant %+v", a.Secrets, want)
	}
	wantAuth := &acs.RegistryAuthenticationData{Type: "asm", ASMAuthData: &acs.ASMAuthData{CredentialsParameter: "dockerhub/login", Region: "us-west-2"}}
	if !reflect.DeepEqual(a.RegistryAuthentication, wantAuth) {
		t.Fatalf("registry authentication = %+v", a.RegistryAuthentication)
	}
	if b.Secrets != nil || b.RegistryAuthentication != nil {
		t.Fatalf("container without secrets: %+v %+v", b.Secrets, b.RegistryAuthentication)
	}
	if task.RoleCredentials != nil || task.ExecutionRoleCredentials != nil {
		t.Fatal("ToACS filled credentials: they are the delivery's")
	}

	d = definition(t, execRole, `,"repositoryCredentials":{"credentialsParameter":"`+asmArn+`"}`)
	auth := ToACS(d, Placement{Region: "us-west-2"}).Containers[0].RegistryAuthentication
	if auth == nil || auth.ASMAuthData.Region != "us-east-1" || auth.ASMAuthData.CredentialsParameter != asmArn {
		t.Fatalf("registry authentication from an ARN = %+v", auth)
	}
}
