variable "name" {
  type        = string
  description = "The EKS cluster's name and the prefix of its roles."
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes version of the control plane and nodes."
  default     = "1.33"
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the control plane's interfaces and of the nodes."
}

variable "node_instance_types" {
  type        = list(string)
  description = "Instance types of the managed node group."
  default     = ["m7i.xlarge"]
}

variable "node_count" {
  type = object({
    min     = number
    desired = number
    max     = number
  })
  description = "Bounds of the node group (the cluster autoscaler or Karpenter moves within them)."
  default     = { min = 2, desired = 3, max = 10 }
}

variable "public_endpoint_cidrs" {
  type        = list(string)
  description = "Ranges that may reach the API server's public endpoint (the operators, CI); empty: private only."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
