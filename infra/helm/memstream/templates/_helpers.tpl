{{/* The release's objects are named "<release>-<component>"; labels follow the Kubernetes recommended set. */}}
{{- define "memstream.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "memstream.selectorLabels" -}}
app.kubernetes.io/name: memstream
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "memstream.labels" -}}
{{ include "memstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/*
Where a projections pod serves its metrics: projectionsPort + the position of its first store in (postgres, milvus,
neo4j, redis), all stores: projectionsPort. The same rule as the process (projections/wiring.py: metrics_port).
*/}}
{{- define "memstream.projectionsMetricsPort" -}}
{{- $positions := dict "postgres" 0 "milvus" 1 "neo4j" 2 "redis" 3 -}}
{{- $offset := 0 -}}
{{- with .Values.projections.stores -}}
{{- $offset = 3 -}}
{{- range . -}}{{- $offset = min $offset (get $positions .) -}}{{- end -}}
{{- end -}}
{{- add .Values.metrics.projectionsPort $offset -}}
{{- end -}}

{{/* Prometheus' scrape annotations of a pod whose metrics are at :<port>/metrics (values: metrics). */}}
{{- define "memstream.scrapeAnnotations" -}}
{{- if and .root.Values.metrics.enabled .root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}

{{/* The Secret every pod reads: the operator's, or the one this chart makes from values. */}}
{{- define "memstream.secretName" -}}
{{- default (printf "%s-secrets" .Release.Name) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* One env entry from a key of the Secret. */}}
{{- define "memstream.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "memstream.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/*
The container of one process: the settings from the ConfigMap, the Kafka password (every process talks to
Kafka) and, with stores=true, the stores' passwords as files (memory/settings.py: *_password_file) and the
API's own secrets.
*/}}
{{- define "memstream.container" -}}
{{- $root := .root -}}
{{- $keys := $root.Values.secrets.keys -}}
name: {{ .component }}
image: {{ printf "%s:%s" $root.Values.image.repository $root.Values.image.tag | quote }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
command: {{ toJson .command }}
envFrom:
  - configMapRef:
      name: {{ include "memstream.name" (dict "root" $root "component" "settings") }}
env:
  {{- include "memstream.secretEnv" (dict "root" $root "name" "MEMSTREAM_KAFKA_PASSWORD" "key" $keys.kafkaPassword) | nindent 2 }}
  {{- if .stores }}
  - name: MEMSTREAM_POSTGRES_PASSWORD_FILE
    value: /run/secrets/memstream/postgres-password
  - name: MEMSTREAM_REDIS_PASSWORD_FILE
    value: /run/secrets/memstream/redis-password
  - name: MEMSTREAM_NEO4J_PASSWORD_FILE
    value: /run/secrets/memstream/neo4j-password
  {{- end }}
  {{- if .apiSecrets }}
  {{- include "memstream.secretEnv" (dict "root" $root "name" "MEMSTREAM_API_KEY_PEPPER" "key" $keys.apiKeyPepper) | nindent 2 }}
  {{- include "memstream.secretEnv" (dict "root" $root "name" "MEMSTREAM_TOKEN_SECRET" "key" $keys.tokenSecret) | nindent 2 }}
  {{- include "memstream.secretEnv" (dict "root" $root "name" "MEMSTREAM_JWT_HS256_SECRET" "key" $keys.jwtHs256Secret "optional" true) | nindent 2 }}
  {{- end }}
resources: {{- toYaml .resources | nindent 2 }}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
volumeMounts:
  - name: data
    mountPath: /data
  - name: tmp
    mountPath: /tmp
  {{- if .stores }}
  - name: store-passwords
    mountPath: /run/secrets/memstream
    readOnly: true
  {{- end }}
{{- end -}}

{{/* The pod's volumes matching memstream.container's mounts. */}}
{{- define "memstream.volumes" -}}
{{- $keys := .root.Values.secrets.keys -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if .stores }}
- name: store-passwords
  secret:
    secretName: {{ include "memstream.secretName" .root }}
    items:
      - {key: {{ $keys.postgresPassword }}, path: postgres-password}
      - {key: {{ $keys.redisPassword }}, path: redis-password}
      - {key: {{ $keys.neo4jPassword }}, path: neo4j-password}
{{- end }}
{{- end -}}
