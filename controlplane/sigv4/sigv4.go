package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

const algorithm = "AWS4-HMAC-SHA256"

// Verifier checks signatures against known credentials (access key → secret).
type Verifier struct {
	Credentials map[string]string
	Service     string // "" means "ecs"
}

// Verify returns nil when r carries a valid signature over body, and otherwise the
// error AWS answers: MissingAuthenticationTokenException, UnrecognizedClientException
// (unknown key) or InvalidSignatureException.
func (v Verifier) Verify(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return awserr.New(awserr.CodeMissingAuthenticationToken, http.StatusForbidden, awserr.MessageMissingAuthenticationToken)
	}
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return awserr.New(awserr.CodeInvalidSignature, http.StatusForbidden, "Unsupported authorization type.")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = val
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || parts["SignedHeaders"] == "" || parts["Signature"] == "" {
		return awserr.New(awserr.CodeInvalidSignature, http.StatusForbidden, "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
	}
	secret, known := v.Credentials[scope[0]]
	if !known {
		return awserr.New(awserr.CodeUnrecognizedClient, http.StatusForbidden, awserr.MessageUnrecognizedClient)
	}
	service := v.Service
	if service == "" {
		service = "ecs"
	}
	if scope[3] != service {
		return awserr.New(awserr.CodeInvalidSignature, http.StatusForbidden, "Credential should be scoped to correct service: '%s'.", service)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if len(amzDate) < 8 || amzDate[:8] != scope[1] {
		return awserr.New(awserr.CodeInvalidSignature, http.StatusForbidden, awserr.MessageInvalidSignature)
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	canonical := strings.Join([]string{
		r.Method,
		canonicalPath(r.URL),
		canonicalQuery(r.URL.RawQuery),
		canonicalHeaders(r, signed),
		parts["SignedHeaders"],
		payloadHash(r, body),
	}, "\n")
	credScope := strings.Join(scope[1:], "/")
	sum := sha256.Sum256([]byte(canonical))
	toSign := algorithm + "\n" + amzDate + "\n" + credScope + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("AWS4"+secret), scope[1])
	key = hmacSHA256(key, scope[2])
	key = hmacSHA256(key, scope[3])
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return awserr.New(awserr.CodeInvalidSignature, http.StatusForbidden, awserr.MessageInvalidSignature)
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return p
}

// canonicalQuery sorts parameters by key then value, each URI-encoded (RFC 3986).
func canonicalQuery(raw string) string {
	vals, _ := url.ParseQuery(raw)
	var pairs []string
	for k, vs := range vals {
		for _, v := range vs {
			pairs = append(pairs, encode(k)+"="+encode(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var value string
		switch name {
		case "host":
			value = r.Host
		case "content-length":
			value = r.Header.Get("Content-Length")
			if value == "" {
				value = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vs := r.Header.Values(name)
			trimmed := make([]string, len(vs))
			for i, v := range vs {
				trimmed[i] = strings.Join(strings.Fields(v), " ")
			}
			value = strings.Join(trimmed, ",")
		}
		b.WriteString(name + ":" + value + "\n")
	}
	return b.String()
}

func payloadHash(r *http.Request, body []byte) string {
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		return h
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
