variable "name" {
  type        = string
  description = "Identifier of the replica instance."
}

variable "source_db_arn" {
  type        = string
  description = "ARN of the primary instance in the other region (modules/postgres output arn)."
}

variable "instance_class" {
  type        = string
  description = "RDS instance class of the replica (the future primary after a promotion: size it alike)."
  default     = "db.m7g.large"
}

variable "vpc_id" {
  type        = string
  description = "VPC of the replica, in the DR region."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the replica's DB subnet group."
}

variable "client_cidr_blocks" {
  type        = list(string)
  description = "Address ranges allowed to connect on 5432."
}

variable "database" {
  type        = string
  description = "Database name (the DSN's path); the replica has the primary's."
  default     = "memstream"
}

variable "username" {
  type        = string
  description = "Database user (the DSN's user); the replica has the primary's users and passwords."
  default     = "memstream"
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
