variable "name" {
  type        = string
  description = "Prefix of the region's resources (e.g. memstream-prod-primary)."
}

variable "cidr_block" {
  type        = string
  description = "The region's VPC range (regions of one environment must not overlap: they are peered)."
}

variable "az_count" {
  type        = number
  description = "Availability zones used in the region."
  default     = 3
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for the region instead of one per zone (dev)."
  default     = false
}

variable "peer_cidr_blocks" {
  type        = list(string)
  description = "Ranges of peered VPCs whose clients may reach this region's Kafka (MirrorMaker 2 in the DR region)."
  default     = []
}

variable "kafka" {
  type = object({
    instance_type    = optional(string, "kafka.m7g.large")
    brokers_per_zone = optional(number, 1)
    volume_size_gb   = optional(number, 500)
  })
  description = "Size of the region's MSK cluster."
  default     = {}
}

variable "redis" {
  type = object({
    node_type = optional(string, "cache.m7g.large")
    replicas  = optional(number, 1)
  })
  description = "Size of the region's ElastiCache Redis."
  default     = {}
}

variable "eks" {
  type = object({
    kubernetes_version    = optional(string, "1.33")
    node_instance_types   = optional(list(string), ["m7i.xlarge"])
    node_min              = optional(number, 2)
    node_desired          = optional(number, 3)
    node_max              = optional(number, 10)
    public_endpoint_cidrs = optional(list(string), [])
  })
  description = "The region's EKS cluster and node group."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
