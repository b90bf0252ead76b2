{{/* Base name: vault-helm's chart name ("vault") unless nameOverride is set. The pods'
     app.kubernetes.io/name is "<name>-agent-injector", exactly as vault-helm labels them, so
     the Deployment selector is the same and `helm upgrade` can roll an upstream Deployment
     over to this chart. */}}
{{- define "vk.name" -}}
{{- default "vault" .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The value of the app.kubernetes.io/name label (and of the self-exclusion selector). */}}
{{- define "vk.appName" -}}
{{- include "vk.name" . -}}-agent-injector
{{- end -}}

{{/* Object-name prefix: the release name, so release "vault" gives vault-helm's names
     (vault-agent-injector, -svc, -cfg). Short enough for every suffix used below. */}}
{{- define "vk.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 30 | trimSuffix "-" -}}
{{- end -}}

{{/* The template names vault-helm's default `tpl` strings refer to (affinity, webhook
     objectSelector, annotations): they resolve to this chart's own names, so such a string
     selects this chart's pods. */}}
{{- define "vault.name" -}}
{{- include "vk.name" . -}}
{{- end -}}

{{- define "vault.fullname" -}}
{{- include "vk.fullname" . -}}
{{- end -}}

{{- define "vault.namespace" -}}
{{- include "vk.namespace" . -}}
{{- end -}}

{{- define "vk.namespace" -}}
{{- default .Release.Namespace .Values.global.namespace -}}
{{- end -}}

{{- define "vk.injector" -}}
{{- include "vk.fullname" . -}}-agent-injector
{{- end -}}

{{- define "vk.svc" -}}
{{- include "vk.injector" . -}}-svc
{{- end -}}

{{- define "vk.webhookName" -}}
{{- include "vk.injector" . -}}-cfg
{{- end -}}

{{/* Upstream's name for the Secret the leader writes and every replica serves from
     (keys cert and key); keeping it makes upgrades from upstream's injector seamless. */}}
{{- define "vk.sharedCertSecret" -}}vault-injector-certs{{- end -}}

{{/* Upstream's leader-for-life lock: read to know whether an upstream pod still leads. */}}
{{- define "vk.upstreamLock" -}}vault-k8s-leader{{- end -}}

{{/* True ("1") when anything should be rendered (vault-helm's enabled/"-" semantics). */}}
{{- define "vk.enabled" -}}
{{- $e := .Values.injector.enabled -}}
{{- if eq (toString $e) "-" -}}{{- $e = .Values.global.enabled -}}{{- end -}}
{{- if (toString $e | eq "true") -}}1{{- end -}}
{{- end -}}

{{/* TLS mode: "file" (certs.secretName), "certManager", or "auto" (the injector generates
     its CA and certificate and publishes the CA in the webhook configuration). */}}
{{- define "vk.tlsMode" -}}
{{- if .Values.injector.certs.secretName -}}file
{{- else if .Values.injector.certManager.enabled -}}certManager
{{- else -}}auto
{{- end -}}
{{- end -}}

{{/* True ("1") when the replicas elect a leader that writes the shared certificate Secret.
     Only auto TLS has anything to coordinate. Unlike vault-helm this does not need
     replicas > 1: during a rolling update a single-replica Deployment runs two pods too,
     and the election keeps them on one CA. */}}
{{- define "vk.leaderElector" -}}
{{- if and (eq (include "vk.tlsMode" .) "auto") (eq (toString .Values.injector.leaderElector.enabled) "true") -}}1{{- end -}}
{{- end -}}

{{- define "vk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vk.appName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
component: webhook
{{- end -}}

{{- define "vk.labels" -}}
{{ include "vk.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.injector.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A value that may be a map/list or (vault-helm style) a string template. */}}
{{- define "vk.tplValue" -}}
{{- if kindIs "string" .value -}}
{{- tpl .value .context | trimSuffix "\n" -}}
{{- else -}}
{{- toYaml .value -}}
{{- end -}}
{{- end -}}

{{/* The same, parsed back into a map (for values the chart merges with its own). */}}
{{- define "vk.tplMap" -}}
{{- if kindIs "string" .value -}}
{{- $m := fromYaml (tpl .value .context) -}}
{{- if hasKey $m "Error" -}}
{{- fail (printf "vault-k8s: %s is a string that does not render to a YAML map: %v" (.key | default "a templated value") (get $m "Error")) -}}
{{- end -}}
{{- toJson $m -}}
{{- else -}}
{{- toJson (.value | default dict) -}}
{{- end -}}
{{- end -}}

{{- define "vk.image" -}}
{{- $img := .Values.injector.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/* The injected agent image: the injector's own unless injector.agentImage names another. */}}
{{- define "vk.agentImage" -}}
{{- $agent := .Values.injector.agentImage -}}
{{- $tag := toString (default "" $agent.tag) -}}
{{- if and (not $agent.repository) (not $tag) -}}
{{- include "vk.image" . -}}
{{- else if not $agent.repository -}}
{{- printf "%s:%s" .Values.injector.image.repository $tag -}}
{{- else if contains "@" $agent.repository -}}
{{- $agent.repository -}}
{{- else if not $tag -}}
{{- fail "injector.agentImage.tag is required when injector.agentImage.repository is set (e.g. repository hashicorp/vault, tag 2.0.4)" -}}
{{- else -}}
{{- printf "%s:%s" $agent.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* vault-helm's precedence: global.externalVaultAddr, then the deprecated
     injector.externalVaultAddr, then the in-cluster Vault service "vault" of the namespace
     (port server.service.port when a vault-helm values file sets it, else 8200). */}}
{{- define "vk.vaultAddr" -}}
{{- if .Values.global.externalVaultAddr -}}
{{- .Values.global.externalVaultAddr -}}
{{- else if .Values.injector.externalVaultAddr -}}
{{- .Values.injector.externalVaultAddr -}}
{{- else -}}
{{- $port := 8200 -}}
{{- with .Values.server -}}{{- with .service -}}{{- with .port -}}{{- $port = . -}}{{- end -}}{{- end -}}{{- end -}}
{{- printf "%s://vault.%s.svc:%v" (ternary "http" "https" .Values.global.tlsDisable) (include "vk.namespace" .) $port -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret mounted with the serving certificate (file and cert-manager modes). */}}
{{- define "vk.certSecret" -}}
{{- if eq (include "vk.tlsMode" .) "certManager" -}}
{{- include "vk.injector" . -}}-tls
{{- else -}}
{{- .Values.injector.certs.secretName -}}
{{- end -}}
{{- end -}}

{{/* global.imagePullSecrets as vault-helm takes it: a list of {name: x} maps or of names. */}}
{{- define "vk.imagePullSecrets" -}}
{{- $out := list -}}
{{- range .Values.global.imagePullSecrets -}}
{{- if kindIs "string" . -}}
{{- $out = append $out (dict "name" .) -}}
{{- else -}}
{{- $out = append $out . -}}
{{- end -}}
{{- end -}}
{{- with $out -}}{{- toYaml . -}}{{- end -}}
{{- end -}}

{{/* Each element of a list as its JSON text (to compare selector expressions by value). */}}
{{- define "vk.jsonList" -}}
{{- $out := list -}}
{{- range . -}}{{- $out = append $out (toJson .) -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}
