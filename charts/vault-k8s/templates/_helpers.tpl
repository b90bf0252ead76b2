{{/* Name used in labels; the webhook's self-exclusion selector matches it. */}}
{{- define "vk.name" -}}
{{- default "vault-k8s" .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Object-name prefix: the release name, so release "vault" gives vault-helm's names
     (vault-agent-injector, -svc, -cfg). Short enough for every suffix used below. */}}
{{- define "vk.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 30 | trimSuffix "-" -}}
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

{{/* True ("1") when anything should be rendered (vault-helm's enabled/"-" semantics). */}}
{{- define "vk.enabled" -}}
{{- $e := .Values.injector.enabled -}}
{{- if eq (toString $e) "-" -}}{{- $e = .Values.global.enabled -}}{{- end -}}
{{- if (toString $e | eq "true") -}}1{{- end -}}
{{- end -}}

{{- define "vk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vk.name" . }}
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
{{- tpl .value .context -}}
{{- else -}}
{{- toYaml .value -}}
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

{{- define "vk.vaultAddr" -}}
{{- if .Values.injector.externalVaultAddr -}}
{{- .Values.injector.externalVaultAddr -}}
{{- else if .Values.global.externalVaultAddr -}}
{{- .Values.global.externalVaultAddr -}}
{{- else -}}
{{- printf "%s://vault.%s.svc:8200" (ternary "http" "https" .Values.global.tlsDisable) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret the injector reads its serving certificate from. */}}
{{- define "vk.certSecret" -}}
{{- if .Values.injector.certManager.enabled -}}
{{- include "vk.injector" . -}}-tls
{{- else -}}
{{- .Values.injector.certs.secretName -}}
{{- end -}}
{{- end -}}

{{/* Refuses settings that cannot work, with a message that says what to set. */}}
{{- define "vk.validate" -}}
{{- $certs := .Values.injector.certs -}}
{{- $cm := .Values.injector.certManager.enabled -}}
{{- if and $certs.secretName $cm -}}
{{- fail "vault-k8s: choose ONE TLS mode: injector.certs.secretName (your own Secret) OR injector.certManager.enabled=true, not both." -}}
{{- end -}}
{{- if not (or $certs.secretName $cm) -}}
{{- fail "vault-k8s: no TLS mode chosen. The injector serves HTTPS only with a certificate it is given (self-generated certificates are not implemented yet). Set injector.certs.secretName=<kubernetes.io/tls Secret> plus injector.certs.caBundle=<base64 CA PEM>, or injector.certManager.enabled=true (needs cert-manager). See docs/install.md." -}}
{{- end -}}
{{- if and $certs.secretName (not $certs.caBundle) -}}
{{- $a := .Values.injector.webhook.annotations | default dict -}}
{{- if not (or (hasKey $a "cert-manager.io/inject-ca-from") (hasKey $a "cert-manager.io/inject-ca-from-secret")) -}}
{{- fail "vault-k8s: injector.certs.secretName is set but injector.certs.caBundle is empty, so the API server could not verify the webhook. Set injector.certs.caBundle to the base64 PEM of the CA, or add a cert-manager.io/inject-ca-from-secret annotation in injector.webhook.annotations." -}}
{{- end -}}
{{- end -}}
{{- end -}}
