{{/* Names: the release name, with "-pullfix" unless it already contains "pullfix". */}}
{{- define "pullfix.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pullfix.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Selector labels: stable for the life of a release. */}}
{{- define "pullfix.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pullfix.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "pullfix.commonLabels" -}}
app.kubernetes.io/part-of: pullfix
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
An object's annotations: commonAnnotations merged with its own (which win), as YAML; empty when
there are none. Call with (dict "root" $ "own" (dict ...)) and print under `annotations:` only
when not empty.
*/}}
{{- define "pullfix.annotations" -}}
{{- $all := merge (deepCopy (default dict .own)) (default dict .root.Values.commonAnnotations) }}
{{- with $all }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{- define "pullfix.labels" -}}
{{ include "pullfix.selectorLabels" . }}
{{ include "pullfix.commonLabels" . }}
{{- end }}

{{/* The stale audit's pods: a component of their own, so the webhook's NetworkPolicy, PDB and
Service, which select component=webhook, never take them in. */}}
{{- define "pullfix.staleAuditSelectorLabels" -}}
app.kubernetes.io/name: {{ include "pullfix.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: stale-audit
{{- end }}

{{- define "pullfix.staleAuditLabels" -}}
{{ include "pullfix.staleAuditSelectorLabels" . }}
{{ include "pullfix.commonLabels" . }}
{{- end }}

{{/* The stale audit's namespaced rules, in a ClusterRole (allNamespaces) or a Role per namespace. */}}
{{- define "pullfix.staleAuditRules" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["secrets"]
  {{- with .Values.staleAudit.pullSecretNames }}
  resourceNames: {{ toJson . }}
  {{- end }}
  verbs: ["get"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get"]
- apiGroups: ["openreports.io"]
  resources: ["reports"]
  resourceNames: ["pullfix-audit-stale"]
  verbs: ["create", "patch"]
{{- if .Values.staleAudit.fix }}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "patch"]
{{- end }}
{{- end }}

{{- define "pullfix.staleAuditName" -}}
{{- printf "%s-stale-audit" (include "pullfix.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pullfix.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret the pods mount: the user's in mode "secret", else the chart's. */}}
{{- define "pullfix.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "secret" }}
{{- required "certificates.secret.name: the name of an existing kubernetes.io/tls Secret is required with certificates.mode=secret" .Values.certificates.secret.name }}
{{- else }}
{{- printf "%s-tls" (include "pullfix.fullname" .) }}
{{- end }}
{{- end }}

{{/* The DNS names the API server may use for the Service; it verifies <svc>.<ns>.svc. */}}
{{- define "pullfix.dnsNames" -}}
{{- $svc := include "pullfix.fullname" . }}
{{- $ns := .Release.Namespace }}
- {{ $svc }}
- {{ printf "%s.%s" $svc $ns }}
- {{ printf "%s.%s.svc" $svc $ns }}
- {{ printf "%s.%s.svc.cluster.local" $svc $ns }}
{{- end }}

{{/*
The generated CA and serving pair (mode "generate"), base64-encoded: taken from the Secret
when it already holds all three, so `helm upgrade` changes neither the Secret nor the
caBundle; made anew only on first install (or after the Secret was deleted). `helm template`
cannot look up, so it shows a fresh pair each time.
*/}}
{{- define "pullfix.generatedTLS" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "pullfix.tlsSecretName" .) }}
{{- $data := dict }}
{{- if $existing }}{{ $data = default dict $existing.data }}{{ end }}
{{- if and (index $data "ca.crt") (index $data "tls.crt") (index $data "tls.key") }}
ca.crt: {{ index $data "ca.crt" }}
tls.crt: {{ index $data "tls.crt" }}
tls.key: {{ index $data "tls.key" }}
{{- else }}
{{- $days := int .Values.certificates.generate.validityDays }}
{{- $fullname := include "pullfix.fullname" . }}
{{- $ca := genCA (printf "%s webhook CA" $fullname) $days }}
{{- $names := include "pullfix.dnsNames" . | fromYamlArray }}
{{- $cert := genSignedCert (printf "%s.%s.svc" $fullname .Release.Namespace) nil $names $days $ca }}
ca.crt: {{ $ca.Cert | b64enc }}
tls.crt: {{ $cert.Cert | b64enc }}
tls.key: {{ $cert.Key | b64enc }}
{{- end }}
{{- end }}

{{- define "pullfix.validate" -}}
{{- if not (has .Values.certificates.mode (list "generate" "cert-manager" "secret")) }}
{{- fail (printf "certificates.mode: must be generate, cert-manager or secret, got %q" .Values.certificates.mode) }}
{{- end }}
{{- range $name := list "default" "enforce" }}
{{- $w := index $.Values.webhooks $name }}
{{- if not (has $w.failurePolicy (list "Ignore" "Fail")) }}
{{- fail (printf "webhooks.%s.failurePolicy: must be Ignore or Fail, got %q" $name (toString $w.failurePolicy)) }}
{{- end }}
{{- $t := $w.timeoutSeconds }}
{{- $number := or (kindIs "float64" $t) (kindIs "int64" $t) (kindIs "int" $t) }}
{{- if or (not $number) (lt (float64 $t) 1.0) (gt (float64 $t) 30.0) (ne (float64 (int $t)) (float64 $t)) }}
{{- fail (printf "webhooks.%s.timeoutSeconds: must be a whole number from 1 to 30 (the API server's limit), got %v" $name $t) }}
{{- end }}
{{- end }}
{{- $bytes := toString .Values.server.maxInflightBytes }}
{{- if not (regexMatch "^[0-9]+(Ki|Mi|Gi)?$" $bytes) }}
{{- fail (printf "server.maxInflightBytes: must be bytes or a whole number of Ki, Mi or Gi (e.g. 32Mi), got %q" $bytes) }}
{{- end }}
{{- $c := .Values.server.maxConnections }}
{{- $whole := or (kindIs "float64" $c) (kindIs "int64" $c) (kindIs "int" $c) }}
{{- if or (not $whole) (lt (float64 $c) 1.0) (ne (float64 (int $c)) (float64 $c)) }}
{{- fail (printf "server.maxConnections: must be a whole number of at least 1, got %v" $c) }}
{{- end }}
{{- end }}
