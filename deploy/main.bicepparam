// Example parameters. Secrets come from the environment of the shell that
// deploys (or from GitHub secrets in the workflow), never from this file.
using './main.bicep'

param name = 'contoso-snowbot'
param image = 'contosoregistry.azurecr.io/snowbot:1.0.0'
param acrName = 'contosoregistry'
param instanceCount = 1
// managedRedis (no sign-in lost), existingRedis (with existingStoreUrl) or local (a trial).
param store = 'managedRedis'

param microsoftAppType = 'SingleTenant'
param microsoftAppId = '00000000-0000-0000-0000-000000000000'
param microsoftAppPassword = readEnvironmentVariable('MICROSOFT_APP_PASSWORD', '')

param servicenowInstanceUrl = 'https://contoso.service-now.com'
param servicenowClientId = 'replace-with-the-client-id'
param servicenowClientSecret = readEnvironmentVariable('SERVICENOW_CLIENT_SECRET')
param servicenowClientAuth = 'body'
param servicenowResolveCode = 'Solution provided'

param tokenEncryptionKey = readEnvironmentVariable('TOKEN_ENCRYPTION_KEY')
param servicenowWebhookSecret = readEnvironmentVariable('SERVICENOW_WEBHOOK_SECRET', '')
