variable "zone_id" {
  type        = string
  description = "Route 53 hosted zone of the API's name."
}

variable "record_name" {
  type        = string
  description = "The API's DNS name clients use (e.g. memory.example.com)."
}

variable "primary_hostname" {
  type        = string
  description = "DNS name of the primary region's API load balancer."
}

variable "dr_hostname" {
  type        = string
  description = "DNS name of the DR region's API load balancer."
}

variable "health_check_path" {
  type        = string
  description = "Path Route 53 asks on each load balancer: the API's readiness route (200 only when every store answers)."
  default     = "/ready"
}

variable "health_check_port" {
  type        = number
  description = "Port of the load balancers' listener (the chart's api.service.port)."
  default     = 80
}

variable "ttl_seconds" {
  type        = number
  description = "TTL of the failover records: how long a resolver may keep answering with a failed region."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
