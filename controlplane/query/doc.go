// Package query parses and evaluates the ECS cluster query language over the attributes
// of a container instance. ListContainerInstances uses it as a filter and the memberOf
// placement constraint as the test a candidate instance must pass.
//
// Only `attribute:NAME` subjects are evaluated: the other subjects ECS knows
// (agentConnected, agentVersion, ec2InstanceId, registeredAt, runningTasksCount,
// task:group) are refused with ErrUnsupported rather than silently matching nothing, so a
// caller learns at once that the control plane cannot honour the expression.
//
// Grammar (keywords are case-insensitive; `and` binds tighter than `or`):
//
//	expr    = and { ("or" | "||") and }
//	and     = unary { ("and" | "&&") unary }
//	unary   = ("not" | "!") unary | "(" expr ")" | compare
//	compare = "attribute:" NAME op [arg]
//	op      = "==" | "equals" | "!=" | "not_equals" | ">" | "greater_than" | ">=" |
//	          "greater_than_equal" | "<" | "less_than" | "<=" | "less_than_equal" |
//	          "exists" | "!exists" | "not_exists" | "in" | "!in" | "not_in" | "not in" |
//	          "=~" | "matches" | "!~" | "not_matches"
//	arg     = value | "[" value { "," value } "]"
//	value   = bare word | "double quoted" | 'single quoted'
package query
