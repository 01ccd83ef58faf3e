{{/* The release's name prefix: <release>-fulfil, or the release name when it says fulfil. */}}
{{- define "fulfil.fullname" -}}
{{- if contains "fulfil" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-fulfil" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fulfil.labels" -}}
app.kubernetes.io/name: fulfil
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "name" "order"). */}}
{{- define "fulfil.selector" -}}
app.kubernetes.io/name: fulfil
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "fulfil.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "fulfil.serviceAccount" -}}
{{- .Values.serviceAccount.name | default (include "fulfil.fullname" .) -}}
{{- end -}}

{{- define "fulfil.kafkaBootstrap" -}}
{{- .Values.kafka.bootstrap | default (printf "%s-kafka-bootstrap:9092" .Values.kafka.clusterName) -}}
{{- end -}}

{{/* The CloudNativePG cluster of one service; call with (dict "root" $ "name" "order"). */}}
{{- define "fulfil.dbCluster" -}}
{{- printf "%s-%s-db" (include "fulfil.fullname" .root) .name -}}
{{- end -}}

{{/* The Secret and key holding one service's DSN. */}}
{{- define "fulfil.dsnSecret" -}}
{{- if eq .root.Values.database.mode "cnpg" -}}
{{- printf "%s-app" (include "fulfil.dbCluster" .) -}}
{{- else -}}
{{- .root.Values.database.external.existingSecret | default (printf "%s-database" (include "fulfil.fullname" .root)) -}}
{{- end -}}
{{- end -}}

{{- define "fulfil.dsnKey" -}}
{{- if eq .root.Values.database.mode "cnpg" -}}uri{{- else -}}{{ .name }}{{- end -}}
{{- end -}}

{{/* The Secret holding one service's secret settings. */}}
{{- define "fulfil.secretName" -}}
{{- $svc := index .root.Values.services .name -}}
{{- $svc.existingSecret | default (printf "%s-%s-secrets" (include "fulfil.fullname" .root) .name) -}}
{{- end -}}

{{/* The secret setting names one service reads from files. */}}
{{- define "fulfil.secretKeys" -}}
{{- $svc := index .root.Values.services .name -}}
{{- if $svc.existingSecret -}}
{{- toJson ($svc.secretKeys | default list) -}}
{{- else -}}
{{- toJson (keys ($svc.secrets | default dict) | sortAlpha) -}}
{{- end -}}
{{- end -}}

{{/*
The environment, volumes and mounts a service's container needs, shared by its Deployment
and its migrations Job; call with (dict "root" $ "name" "order").
*/}}
{{- define "fulfil.env" -}}
{{- $prefix := upper .name -}}
- name: {{ $prefix }}_DATABASE_URL_FILE
  value: /etc/fulfil/database/dsn
{{- range $key := include "fulfil.secretKeys" . | fromJsonArray }}
- name: {{ printf "%s_%s_FILE" $prefix (upper $key) }}
  value: {{ printf "/etc/fulfil/secrets/%s" $key }}
{{- end }}
- name: {{ $prefix }}_CONSUMER_INSTANCE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end -}}

{{- define "fulfil.volumes" -}}
- name: database
  secret:
    secretName: {{ include "fulfil.dsnSecret" . }}
    items:
      - key: {{ include "fulfil.dsnKey" . }}
        path: dsn
{{- if ne (include "fulfil.secretKeys" .) "[]" }}
- name: secrets
  secret:
    secretName: {{ include "fulfil.secretName" . }}
{{- end }}
- name: tmp
  emptyDir: {}
- name: work
  emptyDir: {}
{{- end -}}

{{- define "fulfil.mounts" -}}
- name: database
  mountPath: /etc/fulfil/database
  readOnly: true
{{- if ne (include "fulfil.secretKeys" .) "[]" }}
- name: secrets
  mountPath: /etc/fulfil/secrets
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
- name: work
  mountPath: /var/lib/fulfil
{{- end -}}

{{- define "fulfil.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "fulfil.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* One service's settings that are not secret, as <PREFIX>_<NAME>: value lines. */}}
{{- define "fulfil.config" -}}
{{- $svc := index .root.Values.services .name -}}
{{- $prefix := upper .name -}}
{{ $prefix }}_ENV: {{ .root.Values.env | quote }}
{{ $prefix }}_LOG_LEVEL: {{ .root.Values.logLevel | quote }}
{{ $prefix }}_KAFKA_BOOTSTRAP: {{ include "fulfil.kafkaBootstrap" .root | quote }}
{{ $prefix }}_HTTP_HOST: "0.0.0.0"
{{ $prefix }}_HTTP_PORT: {{ .root.Values.service.port | quote }}
{{- with $svc.publicBaseUrl }}
{{ $prefix }}_PUBLIC_BASE_URL: {{ . | quote }}
{{- end }}
{{- range $key, $value := $svc.config }}
{{ $prefix }}_{{ upper $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
When the migrations Jobs run on a first install: before everything (pre-install) only when
all they mount exists already (external databases and Secrets you manage); otherwise once
the release's databases and Secrets exist (post-install). On upgrade always first.
*/}}
{{- define "fulfil.migrationHook" -}}
{{- $first := "pre-install" -}}
{{- if or (ne .Values.database.mode "external") (not .Values.database.external.existingSecret) -}}
{{- $first = "post-install" -}}
{{- end -}}
{{- range $name, $svc := .Values.services -}}
{{- if and $svc.enabled $svc.secrets (not $svc.existingSecret) -}}
{{- $first = "post-install" -}}
{{- end -}}
{{- end -}}
{{- printf "%s,pre-upgrade" $first -}}
{{- end -}}
