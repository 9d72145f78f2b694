{{/*
The chart name, or nameOverride.
*/}}
{{- define "weft.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: fullnameOverride, else the release name, plus the chart name unless the
release name already contains it (release "weft" gives "weft"). Truncated to 63 characters, the
limit of a DNS label, since the Service has this name.
*/}}
{{- define "weft.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "weft.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "weft.labels" -}}
helm.sh/chart: {{ include "weft.chart" . }}
{{ include "weft.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: control-plane
{{- end }}

{{/*
Labels that select the pods; they never change across upgrades (a Deployment's selector is
immutable).
*/}}
{{- define "weft.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weft.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount the pods run as, and the RBAC bindings name.
*/}}
{{- define "weft.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "weft.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image: repository and tag, the tag defaulting to the chart's appVersion.
*/}}
{{- define "weft.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Ports. They are the application's defaults (controller's application.yaml), written into the
ConfigMap too, so the container, the Service and the application agree.
*/}}
{{- define "weft.httpPort" -}}8080{{- end }}
{{- define "weft.monitoringPort" -}}15014{{- end }}
{{- define "weft.xdsPort" -}}15010{{- end }}
{{- define "weft.caPort" -}}15012{{- end }}
{{- define "weft.webhooksPort" -}}15017{{- end }}

{{/*
Whether the admission webhooks' HTTPS port runs: for sidecar injection, the validating webhook, or
both.
*/}}
{{- define "weft.webhooksEnabled" -}}
{{- if or .Values.injection.enabled .Values.validation.enabled }}true{{- end }}
{{- end }}

{{/*
The sidecar injection webhook's MutatingWebhookConfiguration (cluster-scoped, so named after the
release).
*/}}
{{- define "weft.webhookConfiguration" -}}
{{- printf "%s-sidecar-injector" (include "weft.fullname" .) | trunc 253 }}
{{- end }}

{{- define "weft.validatingWebhookConfiguration" -}}
{{- printf "%s-validator" (include "weft.fullname" .) | trunc 253 }}
{{- end }}

{{/*
The image of the injected weft-agent container: injection.agent.image, else the chart's own.
*/}}
{{- define "weft.agentImage" -}}
{{- .Values.injection.agent.image | default (include "weft.image" .) }}
{{- end }}

{{/*
The Service's in-cluster DNS name, without the cluster domain.
*/}}
{{- define "weft.serviceHost" -}}
{{- printf "%s.%s.svc" (include "weft.fullname" .) .Release.Namespace }}
{{- end }}

{{/*
host:port bootstraps point workloads at: xds.advertisedAddress; else, with a plaintext xDS port, the
Service; else the workload agent's xDS proxy in the Pod, which carries the workload's streams to the
Service's mutual TLS port.
*/}}
{{- define "weft.advertisedAddress" -}}
{{- if .Values.xds.advertisedAddress }}
{{- .Values.xds.advertisedAddress }}
{{- else if .Values.xds.plaintext }}
{{- printf "%s:%s" (include "weft.serviceHost" .) (include "weft.xdsPort" .) }}
{{- else -}}
127.0.0.1:15010
{{- end }}
{{- end }}

{{/*
A duration of the schema's form (digits and ms, s, m, h or d) in whole seconds, rounded up.
*/}}
{{- define "weft.durationSeconds" -}}
{{- $n := regexFind "^[0-9]+" . | atoi }}
{{- $unit := regexFind "[a-z]+$" . }}
{{- if eq $unit "ms" }}{{ div (add $n 999) 1000 }}
{{- else if eq $unit "s" }}{{ $n }}
{{- else if eq $unit "m" }}{{ mul $n 60 }}
{{- else if eq $unit "h" }}{{ mul $n 3600 }}
{{- else if eq $unit "d" }}{{ mul $n 86400 }}
{{- else }}{{ fail (printf "not a duration: %q" .) }}
{{- end }}
{{- end }}

{{/*
Checks the schema cannot express: fails the render with the values' names.
*/}}
{{- define "weft.validate" -}}
{{- $drain := include "weft.durationSeconds" .Values.xds.drainPeriod | atoi }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add $drain 5) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least xds.drainPeriod (%s) plus 5 seconds, or replicas are killed before they hand their proxies over" (int .Values.terminationGracePeriodSeconds) .Values.xds.drainPeriod) }}
{{- end }}
{{- if and (not .Values.ca.enabled) (not .Values.xds.plaintext) }}
{{- fail "ca.enabled=false leaves no xDS port: xDS over mutual TLS is served beside the CA; set xds.plaintext=true, or keep the CA" }}
{{- end }}
{{- if and .Values.validation.enabled (not .Values.ca.enabled) }}
{{- fail "validation.enabled needs ca.enabled: the CA issues the webhook's certificate; set validation.enabled=false too, and invalid routes and policies are refused in their status instead" }}
{{- end }}
{{- if .Values.injection.enabled }}
{{- if not .Values.ca.enabled }}
{{- fail "injection.enabled needs ca.enabled: the CA issues the webhook's certificate and the sidecars'" }}
{{- end }}
{{- if not .Values.ca.trustBundleConfigMap }}
{{- fail "injection.enabled needs ca.trustBundleConfigMap: the injected agent mounts the trust bundle from it" }}
{{- end }}
{{- if not .Values.injection.init.image }}
{{- fail "injection.enabled needs injection.init.image: an image with /bin/sh and iptables-restore, which redirects a Pod's traffic through Envoy (docs/envoy.md#injection)" }}
{{- end }}
{{- if semverCompare "<1.29.0-0" .Capabilities.KubeVersion.Version }}
{{- fail (printf "injection.enabled needs Kubernetes 1.29 or newer (the agent is a native sidecar, an init container with restartPolicy Always); this cluster is %s" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- end }}
{{- end }}
