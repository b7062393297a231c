variable "environment" {
  type        = string
  description = "Environment name, in every resource's name and tags."
  default     = "dev"
}

variable "region" {
  type        = string
  description = "AWS region of the environment (dev has one region and no DR standby)."
  default     = "us-east-1"
}

variable "cidr_block" {
  type        = string
  description = "VPC range."
  default     = "10.50.0.0/16"
}

variable "image_repository" {
  type        = string
  description = "Repository of the memstream image (built from infra/compose/Dockerfile)."
}

variable "image_tag" {
  type        = string
  description = "Tag of the memstream image to run."
}

variable "eks_public_endpoint_cidrs" {
  type        = list(string)
  description = "Ranges allowed to reach the cluster's API server (the developers and CI that apply this)."
  default     = []
}

variable "milvus" {
  type = object({
    mode       = string
    zilliz_uri = optional(string, "")
  })
  description = "Milvus: \"helm\" (the Milvus chart on the cluster) or \"zilliz\" (Zilliz Cloud at zilliz_uri)."
  default     = { mode = "helm" }
}

variable "neo4j" {
  type = object({
    mode                    = string
    aura_uri                = optional(string, "")
    aura_password_secret_id = optional(string, "")
  })
  description = "Neo4j: \"helm\" (the Neo4j chart on the cluster) or \"aura\" (an Aura instance; its password in a Secrets Manager secret)."
  default     = { mode = "helm" }
}
