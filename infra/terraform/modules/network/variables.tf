variable "name" {
  type        = string
  description = "Prefix of every resource's name and Name tag (e.g. memstream-prod-primary)."
}

variable "cidr_block" {
  type        = string
  description = "The VPC's IPv4 range; split into one public and one private /20 per availability zone."
  default     = "10.40.0.0/16"
}

variable "az_count" {
  type        = number
  description = "How many availability zones to spread the subnets over (MSK wants as many brokers as zones)."
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (cheaper, for dev) instead of one per zone."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
