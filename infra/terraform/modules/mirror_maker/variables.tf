variable "name" {
  type        = string
  description = "Name of the Deployment and of its ConfigMap and Secret."
  default     = "mirror-maker"
}

variable "namespace" {
  type        = string
  description = "Namespace on the DR cluster (it runs beside the standby region's memstream)."
}

variable "kafka_image" {
  type        = string
  description = "Image with Apache Kafka's connect-mirror-maker.sh (the same Kafka as infra/compose)."
  default     = "apache/kafka:4.1.1"
}

variable "source_bootstrap" {
  type        = string
  description = "SASL/SCRAM bootstrap servers of the primary region's MSK cluster (reached over VPC peering)."
}

variable "source_credential_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN, in the primary region) with the primary's SCRAM {username, password}."
}

variable "target_bootstrap" {
  type        = string
  description = "SASL/SCRAM bootstrap servers of the DR region's MSK cluster."
}

variable "target_credential_secret_id" {
  type        = string
  description = "Secrets Manager secret (name or ARN) with the DR cluster's SCRAM {username, password}."
}

variable "topics" {
  type        = string
  description = "Regular expression of the topics to mirror: memstream's log (turns, commands, memories, dead letters)."
  default     = "memstream\\..*"
}

variable "replicas" {
  type        = number
  description = "MirrorMaker 2 processes (they share the work through their Connect group)."
  default     = 2
}
