{{/* Refuses settings that cannot work, with a message that names the key and says what to
     set. Keys of a vault-helm values file that this chart cannot honour fail here too, so
     nothing a user asked for is dropped without a word. */}}
{{- define "vk.validate" -}}
{{- $inj := .Values.injector -}}
{{- $certs := $inj.certs -}}
{{- if and $certs.secretName $inj.certManager.enabled -}}
{{- fail "vault-k8s: choose ONE TLS mode: injector.certs.secretName (your own Secret) OR injector.certManager.enabled=true, not both. Leave both unset for the default, auto TLS (the injector generates its own certificate)." -}}
{{- end -}}
{{- if and $certs.secretName (not $certs.caBundle) -}}
{{- $a := include "vk.tplMap" (dict "value" ($inj.webhook.annotations | default $inj.webhookAnnotations) "context" . "key" "injector.webhook.annotations") | fromJson -}}
{{- if not (or (hasKey $a "cert-manager.io/inject-ca-from") (hasKey $a "cert-manager.io/inject-ca-from-secret")) -}}
{{- fail "vault-k8s: injector.certs.secretName is set but injector.certs.caBundle is empty, so the API server could not verify the webhook. Set injector.certs.caBundle to the base64 PEM of the CA, or add a cert-manager.io/inject-ca-from-secret annotation in injector.webhook.annotations." -}}
{{- end -}}
{{- end -}}
{{- with .Values.global.psp -}}
{{- if eq (toString .enable) "true" -}}
{{- fail "vault-k8s: global.psp.enable=true asks for a PodSecurityPolicy, an API Kubernetes removed in 1.25 (this chart needs 1.29+). Remove global.psp.enable; the injector pod already meets the `restricted` Pod Security Standard." -}}
{{- end -}}
{{- end -}}
{{- with .Values.server -}}
{{- if and (eq (toString .enabled) "true") (not $.Values.global.externalVaultAddr) -}}
{{- fail "vault-k8s: server.enabled=true asks for a Vault server, which this chart does not install (it installs only the injector). Install Vault with vault-helm (injector.enabled=false there), then remove server.enabled here or set global.externalVaultAddr to that Vault." -}}
{{- end -}}
{{- end -}}
{{- with .Values.csi -}}
{{- if eq (toString .enabled) "true" -}}
{{- fail "vault-k8s: csi.enabled=true asks for the Vault CSI provider, which this chart does not install. Install it with vault-helm (injector.enabled=false there) and remove csi.enabled here." -}}
{{- end -}}
{{- end -}}
{{- with .Values.global.serverTelemetry -}}
{{- if eq (toString .prometheusOperator) "true" -}}
{{- fail "vault-k8s: global.serverTelemetry.prometheusOperator=true configures monitoring of a Vault server, which this chart does not install. For the injector's own metrics set injector.metrics.enabled plus injector.metrics.serviceMonitor.enabled or podMonitor.enabled." -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Effective webhook setting under vault-helm's precedence: injector.webhook.<key> when it
     is set, else the deprecated top-level injector.<deprecated>. Returns JSON {"v": value}. */}}
{{- define "vk.webhookSetting" -}}
{{- $inj := .ctx.Values.injector -}}
{{- $new := get $inj.webhook .key -}}
{{- $old := get $inj .deprecated -}}
{{- dict "v" ($new | default $old) | toJson -}}
{{- end -}}

{{/* Deprecated keys that are set but lose against injector.webhook.* (as in vault-helm):
     listed in the install notes so the user sees that they have no effect. */}}
{{- define "vk.deprecatedOverridden" -}}
{{- $inj := .Values.injector -}}
{{- range $pair := list (list "failurePolicy" "failurePolicy") (list "namespaceSelector" "namespaceSelector") (list "objectSelector" "objectSelector") (list "annotations" "webhookAnnotations") -}}
{{- $new := get $inj.webhook (index $pair 0) -}}
{{- $old := get $inj (index $pair 1) -}}
{{- if and $new $old (ne (toJson $new) (toJson $old)) }}
  injector.{{ index $pair 1 }} (deprecated) has no effect: injector.webhook.{{ index $pair 0 }} is set and wins, as in vault-helm.
{{- end -}}
{{- end -}}
{{- end -}}
