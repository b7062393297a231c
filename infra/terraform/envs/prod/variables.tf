variable "environment" {
  type        = string
  description = "Environment name, in every resource's name and tags."
  default     = "prod"
}

variable "primary_region" {
  type        = string
  description = "AWS region serving traffic."
  default     = "us-east-1"
}

variable "dr_region" {
  type        = string
  description = "AWS region of the disaster-recovery standby (its own Kafka fed by MirrorMaker 2, a PostgreSQL read replica, standby stores)."
  default     = "us-west-2"
}

variable "primary_cidr" {
  type        = string
  description = "VPC range of the primary region."
  default     = "10.40.0.0/16"
}

variable "dr_cidr" {
  type        = string
  description = "VPC range of the DR region (must not overlap the primary's: the VPCs are peered)."
  default     = "10.41.0.0/16"
}

variable "image_repository" {
  type        = string
  description = "Repository of the memstream image (built from infra/compose/Dockerfile), pullable from both regions."
}

variable "image_tag" {
  type        = string
  description = "Tag of the memstream image to run."
}

variable "dns_zone_id" {
  type        = string
  description = "Route 53 hosted zone of the API's public name."
}

variable "api_record_name" {
  type        = string
  description = "The API's public name (e.g. memory.example.com), failed over between the regions."
}

variable "eks_public_endpoint_cidrs" {
  type        = list(string)
  description = "Ranges allowed to reach the clusters' API servers (the operators and CI that apply this)."
  default     = []
}

variable "milvus" {
  type = object({
    mode       = string
    zilliz_uri = optional(string, "")
  })
  description = "Milvus in each region: \"helm\" (the Milvus chart on the region's cluster) or \"zilliz\" (Zilliz Cloud at zilliz_uri)."
  default     = { mode = "helm" }
}

variable "neo4j" {
  type = object({
    mode                    = string
    aura_uri                = optional(string, "")
    aura_password_secret_id = optional(string, "")
  })
  description = "Neo4j in each region: \"helm\" (the Neo4j chart on the region's cluster) or \"aura\" (an Aura instance; its password in a Secrets Manager secret)."
  default     = { mode = "helm" }
}

variable "jwt_jwks_url" {
  type        = string
  description = "JWKS URL of the identity provider whose JWTs the API accepts (empty: API keys only)."
  default     = ""
}
