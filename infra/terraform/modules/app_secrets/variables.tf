variable "name" {
  type        = string
  description = "Prefix of the secrets' names (e.g. memstream-prod)."
}

variable "replica_regions" {
  type        = list(string)
  description = "Regions the secrets are replicated to: the DR region must hash API keys with the same pepper and check the same consistency tokens as the primary."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
