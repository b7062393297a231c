# One region's memstream on its EKS cluster: KEDA, the in-cluster stores chosen by variables (Milvus, Neo4j),
# the Secret the pods read (filled from Secrets Manager), and the memstream chart (infra/helm/memstream) with
# its API behind a Network Load Balancer, the region's entry point for DNS failover.

locals {
  chart_path = "${path.module}/../../../helm/memstream"
  milvus_uri = var.milvus.mode == "helm" ? "http://${var.name}-milvus.${var.namespace}.svc.cluster.local:19530" : var.milvus.zilliz_uri
  neo4j_uri  = var.neo4j.mode == "helm" ? "bolt://${var.name}-neo4j.${var.namespace}.svc.cluster.local:7687" : var.neo4j.aura_uri
  kafka      = jsondecode(data.aws_secretsmanager_secret_version.kafka.secret_string)
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = var.namespace
  }
}

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = "keda"
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.keda_chart_version
}

# ------------------------------------------------------------------------------------------------- stores

resource "helm_release" "milvus" {
  count      = var.milvus.mode == "helm" ? 1 : 0
  name       = "${var.name}-milvus"
  namespace  = kubernetes_namespace_v1.this.metadata[0].name
  repository = "https://zilliztech.github.io/milvus-helm"
  chart      = "milvus"
  version    = var.milvus.chart_version
  values = [yamlencode({
    cluster    = { enabled = false } # standalone: one process, with its etcd and MinIO
    pulsarv3   = { enabled = false }
    standalone = { persistence = { enabled = true } }
  })]
}

resource "random_password" "neo4j" {
  count   = var.neo4j.mode == "helm" ? 1 : 0
  length  = 40
  special = false
}

resource "kubernetes_secret_v1" "neo4j_auth" {
  count = var.neo4j.mode == "helm" ? 1 : 0
  metadata {
    name      = "${var.name}-neo4j-auth"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }
  # The Neo4j chart's passwordFromSecret: the key NEO4J_AUTH, "neo4j/<password>".
  data = { NEO4J_AUTH = "neo4j/${random_password.neo4j[0].result}" }
}

resource "helm_release" "neo4j" {
  count      = var.neo4j.mode == "helm" ? 1 : 0
  name       = "${var.name}-neo4j"
  namespace  = kubernetes_namespace_v1.this.metadata[0].name
  repository = "https://helm.neo4j.com/neo4j"
  chart      = "neo4j"
  version    = var.neo4j.chart_version
  values = [yamlencode({
    neo4j = {
      name               = "${var.name}-neo4j"
      passwordFromSecret = kubernetes_secret_v1.neo4j_auth[0].metadata[0].name
      edition            = "community"
    }
    volumes = { data = { mode = "defaultStorageClass" } }
  })]
}

# ------------------------------------------------------------------------------------------------ secrets

data "aws_secretsmanager_secret_version" "kafka" {
  secret_id = var.kafka_credential_secret_id
}

data "aws_secretsmanager_secret_version" "postgres" {
  secret_id = var.postgres_password_secret_id
}

data "aws_secretsmanager_secret_version" "redis" {
  secret_id = var.redis_auth_secret_id
}

data "aws_secretsmanager_secret_version" "pepper" {
  secret_id = var.api_key_pepper_secret_id
}

data "aws_secretsmanager_secret_version" "token" {
  secret_id = var.token_secret_id
}

data "aws_secretsmanager_secret_version" "aura" {
  count     = var.neo4j.mode == "aura" ? 1 : 0
  secret_id = var.neo4j.aura_password_secret_id
}

# The chart's secrets.existingSecret, with the key names of its values.yaml (secrets.keys).
resource "kubernetes_secret_v1" "memstream" {
  metadata {
    name      = "${var.name}-secrets"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }
  data = {
    api-key-pepper    = data.aws_secretsmanager_secret_version.pepper.secret_string
    token-secret      = data.aws_secretsmanager_secret_version.token.secret_string
    kafka-password    = local.kafka.password
    postgres-password = data.aws_secretsmanager_secret_version.postgres.secret_string
    redis-password    = data.aws_secretsmanager_secret_version.redis.secret_string
    neo4j-password    = var.neo4j.mode == "helm" ? random_password.neo4j[0].result : data.aws_secretsmanager_secret_version.aura[0].secret_string
  }
}

# ------------------------------------------------------------------------------------------------ memstream

resource "helm_release" "memstream" {
  name      = var.name
  namespace = kubernetes_namespace_v1.this.metadata[0].name
  chart     = local.chart_path
  values = [yamlencode({
    image = { repository = var.image_repository, tag = var.image_tag }
    endpoints = {
      kafkaBootstrap = var.kafka_bootstrap
      postgresDsn    = var.postgres_dsn
      redisUrl       = var.redis_url
      neo4jUri       = local.neo4j_uri
      milvusUri      = local.milvus_uri
    }
    kafka   = { securityProtocol = "SASL_SSL", saslMechanism = "SCRAM-SHA-512", username = local.kafka.username, partitions = var.kafka_partitions, replicationFactor = var.kafka_replication_factor }
    secrets = { existingSecret = kubernetes_secret_v1.memstream.metadata[0].name }
    jwt     = { jwksUrl = var.jwt_jwks_url }
    api = {
      autoscaling = { enabled = true, minReplicas = var.api_replicas.min, maxReplicas = var.api_replicas.max }
      service = {
        type = "LoadBalancer"
        annotations = {
          "service.beta.kubernetes.io/aws-load-balancer-type"   = "nlb"
          "service.beta.kubernetes.io/aws-load-balancer-scheme" = "internet-facing"
        }
      }
    }
    streams     = { replicas = var.standby ? 0 : 1, keda = { enabled = !var.standby, maxReplicas = var.kafka_partitions } }
    projections = { stores = var.standby ? ["milvus", "neo4j", "redis"] : [] }
  })]
  depends_on = [helm_release.keda, helm_release.milvus, helm_release.neo4j]
}

data "kubernetes_service_v1" "api" {
  metadata {
    name      = "${var.name}-api"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }
  depends_on = [helm_release.memstream]
}
