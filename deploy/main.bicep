// snowbot on Azure App Service for Linux containers: the plan, the web app
// (HTTPS only, health check, Always On), a Key Vault holding the secrets
// (read by the app through a user-assigned managed identity, which also pulls
// the image), the Azure Bot with its Microsoft Teams channel, and the store:
// Azure Managed Redis with Microsoft Entra ID authentication (no key
// anywhere) by default.
//
// Deploy:  az deployment group create -g <group> -f deploy/main.bicep -p deploy/main.bicepparam

targetScope = 'resourceGroup'

@description('Base name: 3 to 20 lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit. It is the web app\'s name (https://<name>.azurewebsites.net), so it must be free in all of Azure.')
@minLength(3)
@maxLength(20)
param name string

param location string = resourceGroup().location

@description('Container image, e.g. myregistry.azurecr.io/snowbot:1.0.0.')
param image string

@description('Name of the Azure Container Registry holding the image, in this resource group; empty for a public registry.')
param acrName string = ''

@description('App Service plan size. Basic (B1-B3) runs at most 3 instances.')
@allowed([
  'B1'
  'B2'
  'B3'
  'P0v3'
  'P1v3'
])
param planSku string = 'B1'

@description('Instances of the bot (at most 3, which every allowed plan size runs). With store=local it is always 1.')
@minValue(1)
@maxValue(3)
param instanceCount int = 1

@description('Where the bot keeps its state. managedRedis: Azure Managed Redis created here, reached with the web app\'s managed identity (Microsoft Entra ID), replicated: nobody has to sign in again after a restart or a failover. existingRedis: the Redis at existingStoreUrl. local: a file in the container, lost at every restart and redeployment (everyone signs in again then): for a trial only, one instance.')
@allowed([
  'managedRedis'
  'existingRedis'
  'local'
])
param store string = 'managedRedis'

@description('With store=existingRedis: its STORE_URL, e.g. rediss://<host>:10000/0?auth=entra (grant the web app\'s identity access) or rediss://:<key>@<host>:6380/0. Kept in Key Vault.')
@secure()
param existingStoreUrl string = ''

@description('Azure Managed Redis size with store=managedRedis. Balanced_B0 is the smallest.')
param redisSku string = 'Balanced_B0'

@description('Custom https address of the bot, if any; default https://<name>.azurewebsites.net.')
param publicBaseUrl string = ''

@description('SingleTenant (an Entra app registration with a client secret) or UserAssignedMSI (the managed identity created here is the bot).')
@allowed([
  'SingleTenant'
  'UserAssignedMSI'
])
param microsoftAppType string = 'SingleTenant'

@description('For SingleTenant: the Application (client) ID of the bot\'s Entra app registration.')
param microsoftAppId string = ''

@description('For SingleTenant: a client secret of that app registration (its Value).')
@secure()
param microsoftAppPassword string = ''

param microsoftAppTenantId string = tenant().tenantId

@description('Comma-separated Entra tenant IDs whose users may use the bot; empty: any.')
param allowedTenantIds string = ''

@description('Bot Service pricing tier: F0 (free) or S1.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('e.g. https://contoso.service-now.com')
param servicenowInstanceUrl string

param servicenowClientId string

@secure()
param servicenowClientSecret string

@allowed([
  'body'
  'basic'
])
param servicenowClientAuth string = 'body'

param servicenowOauthScope string = ''
param servicenowPkce bool = true
param servicenowResolveCode string = 'Solution provided'

@description('base64 of 32 random bytes: openssl rand -base64 32')
@secure()
param tokenEncryptionKey string

@description('Comma-separated keys used before the current one, during a key rotation.')
@secure()
param tokenEncryptionKeyPrevious string = ''

@description('Secret that signs ServiceNow change events (notifications): openssl rand -hex 32, also set in the instance\'s snowbot.webhook_secret property. Empty turns notifications off.')
@secure()
param servicenowWebhookSecret string = ''

@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('Send traces and metrics to Application Insights: an OpenTelemetry Collector runs beside the bot as a sidecar container, and a workspace-based Application Insights (with its Log Analytics workspace) is created. Off by default.')
param telemetry bool = false

@description('With telemetry: the OpenTelemetry Collector (contrib distribution, which has the azuremonitor exporter) image, pinned to a version (or a digest). Import it into your registry (az acr import) to pull it with the identity instead of anonymously from Docker Hub.')
param collectorImage string = 'otel/opentelemetry-collector-contrib:0.165.0'

// Names. Every name is derived here, and bicepnames_test.go evaluates these
// expressions for the shortest and the longest allowed name against Azure's
// rules for each resource type. The rule: globally unique names are a type
// prefix, the base name without hyphens (so never a double or trailing
// hyphen), and a suffix unique to the resource group and the base name
// (uniqueString: 13 lowercase letters and digits), cut only where the type's
// length limit needs it and never below 8 characters of suffix.
var suffix = uniqueString(resourceGroup().id, name)
var compact = toLower(replace(name, '-', ''))
var appName = name
var planName = 'plan-${compact}'
var identityName = 'id-${compact}'
var vaultName = 'kv-${take(compact, 7)}-${suffix}'
var redisName = 'redis-${compact}-${suffix}'
var botName = 'bot-${compact}-${take(suffix, 8)}'
var redisAccessName = 'snowbot${take(suffix, 8)}'
var workspaceName = 'log-${compact}'
var collectorFromAcr = !empty(acrName) && startsWith(collectorImage, '${acrName}.azurecr.io/')
var insightsName = 'appi-${compact}'

var instances = store == 'local' ? 1 : instanceCount
var useManagedRedis = store == 'managedRedis'
var host = '${appName}.azurewebsites.net'
var baseUrl = empty(publicBaseUrl) ? 'https://${host}' : publicBaseUrl
var useMsiBot = microsoftAppType == 'UserAssignedMSI'
var keyVaultSecretsUser = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
var acrPull = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')

// One identity reads the Key Vault and pulls the image; with UserAssignedMSI it is also the bot.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
}

var botAppId = useMsiBot ? identity.properties.clientId : microsoftAppId
var botTenantId = useMsiBot ? identity.properties.tenantId : microsoftAppTenantId

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
  }
}

resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: keyVaultSecretsUser
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource acr 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(acrName)) {
  name: acrName
}

resource imagePuller 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(acrName)) {
  name: guid(resourceGroup().id, acrName, identity.id, acrPull)
  scope: acr
  properties: {
    roleDefinitionId: acrPull
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Azure Managed Redis: TLS on port 10000, one endpoint for the whole cache
// (EnterpriseCluster, so a plain client works), no access keys: the web app's
// identity signs in with Microsoft Entra ID. Replicated, with an append-only
// file written every second.
resource redis 'Microsoft.Cache/redisEnterprise@2025-04-01' = if (useManagedRedis) {
  name: redisName
  location: location
  sku: {
    name: redisSku
  }
  properties: {
    minimumTlsVersion: '1.2'
    highAvailability: 'Enabled'
  }
}

resource redisDatabase 'Microsoft.Cache/redisEnterprise/databases@2025-04-01' = if (useManagedRedis) {
  parent: redis
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'NoEviction'
    accessKeysAuthentication: 'Disabled'
    persistence: {
      aofEnabled: true
      aofFrequency: '1s'
    }
  }
}

resource redisAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-04-01' = if (useManagedRedis) {
  parent: redisDatabase
  name: redisAccessName
  properties: {
    accessPolicyName: 'default'
    user: {
      objectId: identity.properties.principalId
    }
  }
}

// Secrets: the app receives Key Vault references, never the values.
resource clientSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'servicenow-client-secret'
  properties: {
    value: servicenowClientSecret
  }
}

resource encryptionKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'token-encryption-key'
  properties: {
    value: tokenEncryptionKey
  }
}

resource previousKeys 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(tokenEncryptionKeyPrevious)) {
  parent: vault
  name: 'token-encryption-key-previous'
  properties: {
    value: tokenEncryptionKeyPrevious
  }
}

resource webhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(servicenowWebhookSecret)) {
  parent: vault
  name: 'servicenow-webhook-secret'
  properties: {
    value: servicenowWebhookSecret
  }
}

resource appPassword 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!useMsiBot) {
  parent: vault
  name: 'microsoft-app-password'
  properties: {
    value: microsoftAppPassword
  }
}

resource storeUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (store == 'existingRedis') {
  parent: vault
  name: 'store-url'
  properties: {
    value: existingStoreUrl
  }
}

func ref(vaultName string, secret string) string => '@Microsoft.KeyVault(VaultName=${vaultName};SecretName=${secret})'

// STORE_URL: Managed Redis by its host name (not a secret: no key), an
// existing Redis from Key Vault, or a file inside the container (not on
// /home, an SMB share where file locks and memory maps are unreliable).
var storeSetting = useManagedRedis
  ? 'rediss://${redis!.properties.hostName}:10000/0?auth=entra'
  : store == 'existingRedis' ? ref(vault.name, 'store-url') : 'bolt:///tmp/snowbot/snowbot.db'

var appSettings = concat([
  { name: 'WEBSITES_PORT', value: '3978' }
  { name: 'WEBSITES_ENABLE_APP_SERVICE_STORAGE', value: 'false' }
  { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
  { name: 'PORT', value: '3978' }
  { name: 'PUBLIC_BASE_URL', value: baseUrl }
  { name: 'MICROSOFT_APP_ID', value: botAppId }
  { name: 'MICROSOFT_APP_TYPE', value: microsoftAppType }
  { name: 'MICROSOFT_APP_TENANT_ID', value: botTenantId }
  { name: 'ALLOWED_TENANT_IDS', value: allowedTenantIds }
  { name: 'SERVICENOW_INSTANCE_URL', value: servicenowInstanceUrl }
  { name: 'SERVICENOW_CLIENT_ID', value: servicenowClientId }
  { name: 'SERVICENOW_CLIENT_SECRET', value: ref(vault.name, clientSecret.name) }
  { name: 'SERVICENOW_CLIENT_AUTH', value: servicenowClientAuth }
  { name: 'SERVICENOW_OAUTH_SCOPE', value: servicenowOauthScope }
  { name: 'SERVICENOW_PKCE', value: string(servicenowPkce) }
  { name: 'SERVICENOW_RESOLVE_CODE', value: servicenowResolveCode }
  { name: 'TOKEN_ENCRYPTION_KEY', value: ref(vault.name, encryptionKey.name) }
  { name: 'STORE_URL', value: storeSetting }
  { name: 'LOG_LEVEL', value: logLevel }
], useMsiBot ? [] : [
  { name: 'MICROSOFT_APP_PASSWORD', value: ref(vault.name, 'microsoft-app-password') }
], empty(tokenEncryptionKeyPrevious) ? [] : [
  { name: 'TOKEN_ENCRYPTION_KEY_PREVIOUS', value: ref(vault.name, 'token-encryption-key-previous') }
], empty(servicenowWebhookSecret) ? [] : [
  { name: 'SERVICENOW_WEBHOOK_SECRET', value: ref(vault.name, 'servicenow-webhook-secret') }
], !telemetry ? [] : [
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://localhost:4318' }
  { name: 'OTEL_SERVICE_NAME', value: 'snowbot' }
  { name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'deployment.environment.name=${name}' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights!.properties.ConnectionString }
  { name: 'OTEL_COLLECTOR_CONFIG', value: collectorConfig }
])

// With telemetry: what the collector sidecar does (its --config=env: reads it):
// OTLP over HTTP from the bot on localhost:4318, in batches, to Application
// Insights (the azuremonitor exporter reads APPLICATIONINSIGHTS_CONNECTION_STRING).
var collectorConfig = '''
receivers:
  otlp:
    protocols:
      http:
        endpoint: localhost:4318
processors:
  batch: {}
exporters:
  azuremonitor:
    connection_string: ${env:APPLICATIONINSIGHTS_CONNECTION_STRING}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [azuremonitor]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [azuremonitor]
'''

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = if (telemetry) {
  name: workspaceName
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = if (telemetry) {
  name: insightsName
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace!.id
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  kind: 'linux'
  sku: {
    name: planSku
    capacity: instances
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  kind: 'app,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      // With telemetry the containers are declared below (sitecontainers).
      linuxFxVersion: telemetry ? 'SITECONTAINERS' : 'DOCKER|${image}'
      acrUseManagedIdentityCreds: !empty(acrName)
      acrUserManagedIdentityID: empty(acrName) ? null : identity.properties.clientId
      alwaysOn: true
      healthCheckPath: '/healthz'
      http20Enabled: true
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: appSettings
    }
  }
  // Everything the app needs at its first start: the rights to read the
  // vault and pull the image, the secrets, and its access to Redis.
  dependsOn: [
    vaultReader
    imagePuller
    clientSecret
    encryptionKey
    appPassword
    previousKeys
    webhookSecret
    storeUrl
    redisAccess
  ]
}

// No publishing with a user name and password (FTP, or the SCM site's basic
// auth): deployments go through Azure Resource Manager with Entra ID only.
resource noFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource noScmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// With telemetry: the bot and the collector as sitecontainers of the web app,
// sharing localhost. The bot is the main container (the one that gets HTTP).
resource mainContainer 'Microsoft.Web/sites/sitecontainers@2024-11-01' = if (telemetry) {
  parent: site
  name: 'snowbot'
  properties: {
    image: image
    targetPort: '3978'
    isMain: true
    authType: empty(acrName) ? 'Anonymous' : 'UserAssigned'
    userManagedIdentityClientId: empty(acrName) ? null : identity.properties.clientId
    inheritAppSettingsAndConnectionStrings: true
  }
}

resource collector 'Microsoft.Web/sites/sitecontainers@2024-11-01' = if (telemetry) {
  parent: site
  name: 'otel-collector'
  properties: {
    image: collectorImage
    targetPort: '4318'
    isMain: false
    authType: collectorFromAcr ? 'UserAssigned' : 'Anonymous'
    userManagedIdentityClientId: collectorFromAcr ? identity.properties.clientId : null
    startUpCommand: '--config=env:OTEL_COLLECTOR_CONFIG'
    // Each value names an app setting whose value the container gets.
    environmentVariables: [
      { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: 'APPLICATIONINSIGHTS_CONNECTION_STRING' }
      { name: 'OTEL_COLLECTOR_CONFIG', value: 'OTEL_COLLECTOR_CONFIG' }
    ]
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: name
    endpoint: '${baseUrl}/api/messages'
    msaAppId: botAppId
    msaAppType: microsoftAppType
    msaAppTenantId: botTenantId
    msaAppMSIResourceId: useMsiBot ? identity.id : null
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

output url string = baseUrl
output messagingEndpoint string = '${baseUrl}/api/messages'
@description('Register exactly this as the Redirect URL of the ServiceNow Application Registry entry.')
output servicenowRedirectUrl string = '${baseUrl}/auth/callback'
output microsoftAppId string = botAppId
output microsoftAppTenantId string = botTenantId
output keyVaultName string = vault.name
output applicationInsights string = telemetry ? insights!.name : ''
output storeUrl string = store == 'existingRedis' ? '(Key Vault secret store-url)' : storeSetting
