// The deployment's parameters: edit them for your deployment and commit them.
// The manual deployment and the GitHub workflow both deploy with this file, so
// a choice made here (store, instances, bot type, tenants) is never undone by
// the next push. The image and the secrets come from the environment of the
// shell that deploys (GitHub secrets in the workflow), never from this file.
using './main.bicep'

param name = 'contoso-snowbot'
param image = readEnvironmentVariable('SNOWBOT_IMAGE')
param acrName = 'contosoregistry'
param instanceCount = 1
// managedRedis (no sign-in lost), existingRedis (with existingStoreUrl) or local (a trial).
param store = 'managedRedis'
// With store=existingRedis: its STORE_URL, from the environment (a secret).
param existingStoreUrl = readEnvironmentVariable('EXISTING_STORE_URL', '')
// Traces and metrics to Application Insights (an OpenTelemetry Collector sidecar).
param telemetry = false

param microsoftAppType = 'SingleTenant'
param microsoftAppId = '00000000-0000-0000-0000-000000000000'
param microsoftAppPassword = readEnvironmentVariable('MICROSOFT_APP_PASSWORD', '')

param servicenowInstanceUrl = 'https://contoso.service-now.com'
param servicenowClientId = 'replace-with-the-client-id'
param servicenowClientSecret = readEnvironmentVariable('SERVICENOW_CLIENT_SECRET')
param servicenowClientAuth = 'body'
param servicenowResolveCode = 'Solution provided'

param tokenEncryptionKey = readEnvironmentVariable('TOKEN_ENCRYPTION_KEY')
// During a key rotation: the keys used before, comma-separated (see deploy/README.md).
param tokenEncryptionKeyPrevious = readEnvironmentVariable('TOKEN_ENCRYPTION_KEY_PREVIOUS', '')
param servicenowWebhookSecret = readEnvironmentVariable('SERVICENOW_WEBHOOK_SECRET', '')
