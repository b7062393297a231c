variable "name" {
  type        = string
  description = "Replication group id and prefix of the other resources."
}

variable "node_type" {
  type        = string
  description = "ElastiCache node type."
  default     = "cache.m7g.large"
}

variable "replicas" {
  type        = number
  description = "Read replicas beside the primary (at least 1 for automatic failover within the region)."
  default     = 1
}

variable "vpc_id" {
  type        = string
  description = "VPC of the cache."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the cache's subnet group."
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "Address ranges allowed to connect on 6379."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
