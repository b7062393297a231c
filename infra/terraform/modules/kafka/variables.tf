variable "name" {
  type        = string
  description = "The MSK cluster's name and the prefix of its other resources."
}

variable "kafka_version" {
  type        = string
  description = "Apache Kafka version of the MSK cluster (KRaft)."
  default     = "3.9.x"
}

variable "vpc_id" {
  type        = string
  description = "VPC of the brokers."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets, one per zone; the cluster has one broker per subnet (times brokers_per_zone)."
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "Address ranges allowed to reach the SASL/SCRAM listener (port 9096): the VPC, a peered VPC."
}

variable "instance_type" {
  type        = string
  description = "Broker instance type."
  default     = "kafka.m7g.large"
}

variable "brokers_per_zone" {
  type        = number
  description = "Brokers in each zone (the cluster has brokers_per_zone * len(subnet_ids))."
  default     = 1
}

variable "volume_size_gb" {
  type        = number
  description = "EBS storage per broker in GiB: the log is the source of truth, size it for the retention kept."
  default     = 500
}

variable "username" {
  type        = string
  description = "SCRAM user the pipeline (worker, projectors, API, KEDA, MirrorMaker 2) authenticates as."
  default     = "memstream-pipeline"
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
