variable "name" {
  type        = string
  description = "Helm release name of memstream (its objects are <name>-api, <name>-streams, ...)."
  default     = "memstream"
}

variable "namespace" {
  type        = string
  description = "Namespace of memstream and of the in-cluster stores."
  default     = "memstream"
}

variable "image_repository" {
  type        = string
  description = "Repository of the image built from infra/compose/Dockerfile (e.g. an ECR repository URL)."
}

variable "image_tag" {
  type        = string
  description = "Tag of that image."
}

variable "kafka_bootstrap" {
  type        = string
  description = "SASL/SCRAM bootstrap servers of this region's MSK cluster."
}

variable "kafka_partitions" {
  type        = number
  description = "Partitions of the memstream topics; the stream workers scale up to this many."
  default     = 4
}

variable "kafka_replication_factor" {
  type        = number
  description = "Replicas of each topic the project creates (the region's kafka_replication_factor)."
  default     = 3
}

variable "kafka_credential_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN) with the pipeline's SCRAM {username, password}."
}

variable "postgres_dsn" {
  type        = string
  description = "PostgreSQL DSN without the password."
}

variable "postgres_password_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN) with the PostgreSQL password."
}

variable "redis_url" {
  type        = string
  description = "Redis URL without the AUTH token."
}

variable "redis_auth_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN) with the Redis AUTH token."
}

variable "api_key_pepper_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN) with the API key pepper (the same in every region)."
}

variable "token_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN) with the consistency-token key (the same in every region)."
}

variable "milvus" {
  type = object({
    mode          = string
    chart_version = optional(string, "4.2.58")
    zilliz_uri    = optional(string, "")
  })
  description = "Milvus: mode \"helm\" installs the Milvus chart (standalone) in the namespace; \"zilliz\" uses a Zilliz Cloud cluster at zilliz_uri."
  default     = { mode = "helm" }

  validation {
    condition     = contains(["helm", "zilliz"], var.milvus.mode) && (var.milvus.mode == "helm" || var.milvus.zilliz_uri != "")
    error_message = "milvus.mode is \"helm\" or \"zilliz\" (which needs milvus.zilliz_uri)."
  }
}

variable "neo4j" {
  type = object({
    mode                    = string
    chart_version           = optional(string, "5.26.12")
    aura_uri                = optional(string, "")
    aura_password_secret_id = optional(string, "")
  })
  description = "Neo4j: mode \"helm\" installs the Neo4j chart in the namespace (password generated here); \"aura\" uses an Aura instance at aura_uri whose password is in the secret aura_password_secret_id."
  default     = { mode = "helm" }

  validation {
    condition     = contains(["helm", "aura"], var.neo4j.mode) && (var.neo4j.mode == "helm" || (var.neo4j.aura_uri != "" && var.neo4j.aura_password_secret_id != ""))
    error_message = "neo4j.mode is \"helm\" or \"aura\" (which needs neo4j.aura_uri and neo4j.aura_password_secret_id)."
  }
}

variable "keda_chart_version" {
  type        = string
  description = "Version of the KEDA chart (the operator that scales the stream workers on Kafka lag); the chart's ScaledObject is checked against KEDA v2.20.2's API types."
  default     = "2.20.2"
}

variable "api_replicas" {
  type = object({
    min = number
    max = number
  })
  description = "Bounds of the API's HorizontalPodAutoscaler."
  default     = { min = 2, max = 10 }
}

variable "jwt_jwks_url" {
  type        = string
  description = "JWKS URL of the identity provider whose JWTs the API accepts (empty: API keys only)."
  default     = ""
}

variable "standby" {
  type        = bool
  description = "A DR region's warm standby: no stream workers (the mirrored log already holds their output), and only the Milvus, Neo4j and Redis projectors (its PostgreSQL is a read replica). The failover runbook sets it to false after promoting the replica."
  default     = false
}
