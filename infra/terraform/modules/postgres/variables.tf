variable "name" {
  type        = string
  description = "Identifier of the RDS instance and prefix of its other resources."
}

variable "engine_version" {
  type        = string
  description = "PostgreSQL major version (the project runs on 15)."
  default     = "15"
}

variable "instance_class" {
  type        = string
  description = "RDS instance class."
  default     = "db.m7g.large"
}

variable "allocated_storage_gb" {
  type        = number
  description = "Storage in GiB (gp3; grows up to four times this on its own)."
  default     = 100
}

variable "multi_az" {
  type        = bool
  description = "A synchronous standby in another zone of the same region."
  default     = true
}

variable "vpc_id" {
  type        = string
  description = "VPC of the instance."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the DB subnet group (two zones at least)."
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "Address ranges allowed to connect on 5432."
}

variable "database" {
  type        = string
  description = "Database the project uses (the DSN's path)."
  default     = "memstream"
}

variable "username" {
  type        = string
  description = "The project's database user (the DSN's user)."
  default     = "memstream"
}

variable "secret_replica_regions" {
  type        = list(string)
  description = "Regions the password's secret is replicated to (the DR region, whose replica shares it)."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the instance (on in production)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
